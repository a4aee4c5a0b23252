import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../shared/limits.ts';
import { ID_PATTERN, idSchema } from '../../collector/ingest/validate.ts';

describe('ids', () => {
  it('ID_PATTERN (GET /v1/segment, no zod) accepts exactly what idSchema accepts', () => {
    const max = 'a'.repeat(LIMITS.idLength);
    const cases = [
      'v1',
      'A-z_0',
      max,
      `${max}a`,
      '',
      'a b',
      'é',
      'a.b',
      'a\n',
      '\na',
      'c:1',
      '__proto__',
    ];
    for (const s of cases)
      expect(ID_PATTERN.test(s), JSON.stringify(s)).toBe(idSchema.safeParse(s).success);
    expect(cases.filter((s) => ID_PATTERN.test(s))).toEqual(['v1', 'A-z_0', max, '__proto__']);
  });
});
