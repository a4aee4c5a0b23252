import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'sqlite',
  schema: './collector/db/schema.ts',
  out: './drizzle',
});
