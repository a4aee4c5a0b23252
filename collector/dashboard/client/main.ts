/**
 * The dashboard's one client script (built by build.mjs into dist/dashboard/app.js). Pages work
 * without it; it draws the charts from their `data-chart` attributes and runs each page's own
 * code. A page with client code adds a module here and calls its `init` below: each `init` looks
 * for its own elements and does nothing on other pages.
 */
import { initCharts } from './charts.ts';
import { initDeliveries } from './deliveries.ts';
import { initGoals } from './goals.ts';
import { initLive } from './live.ts';
import { initRules } from './rules.ts';

function start() {
  initCharts();
  initLive();
  initDeliveries();
  initRules();
  initGoals();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
