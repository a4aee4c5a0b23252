import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'sqlite',
  schema: './collector/storage/sqlite/schema.ts',
  out: './drizzle',
});
