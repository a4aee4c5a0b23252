#!/usr/bin/env node
// The CLI runs the built collector; `npm install` builds it (the prepare script).
import '../dist/collector.mjs';
