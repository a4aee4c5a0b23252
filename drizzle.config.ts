import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'sqlite',
  schema: './collector/storage/db/schema.ts',
  out: './drizzle',
});
