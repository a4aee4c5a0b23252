import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { afterEach, describe, expect, it } from 'vitest';
import { testApp } from '../helpers.ts';

describe('onError', () => {
  let t: Awaited<ReturnType<typeof testApp>> | undefined;
  afterEach(() => t?.close());

  it.each([
    [400, 'bad_request'],
    [401, 'unauthorized'],
    [405, 'method_not_allowed'],
    [413, 'body_too_large'],
    [415, 'unsupported_media_type'],
    [429, 'rate_limited'],
    [418, 'client_error'],
  ])('answers an HTTPException %i with its own code %s', async (status, code) => {
    t = await testApp();
    t.app.get('/boom', () => {
      throw new HTTPException(status as ContentfulStatusCode);
    });
    const res = await t.app.request('/boom');
    expect(res.status).toBe(status);
    const body = (await res.json()) as { error: string; message: string };
    expect(body.error).toBe(code);
    expect(body.message).toBe(code.replace(/_/g, ' '));
  });

  it('keeps the message an HTTPException carries', async () => {
    t = await testApp();
    t.app.get('/boom', () => {
      throw new HTTPException(403, { message: 'not yours' });
    });
    const res = await t.app.request('/boom');
    expect(await res.json()).toEqual({ error: 'forbidden', message: 'not yours' });
  });
});
