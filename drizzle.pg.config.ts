import { defineConfig } from 'drizzle-kit';

/** The PostgreSQL schema's migrations (`npm run db:generate:pg`); SQLite's: drizzle.config.ts. */
export default defineConfig({
  dialect: 'postgresql',
  schema: './collector/storage/pg/schema.ts',
  out: './drizzle-pg',
});
