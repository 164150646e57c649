import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, type LogLevel } from './logger.js';
import { clearSecrets, registerSecret } from './redact.js';

function capture(level: LogLevel = 'debug', bindings: Record<string, unknown> = {}) {
  const lines: Record<string, any>[] = [];
  const log = createLogger(level, bindings, (line) => lines.push(JSON.parse(line)));
  return { log, lines };
}

describe('logger', () => {
  afterEach(() => clearSecrets());

  it('writes one JSON line per call with level, time, message, bindings and data', () => {
    const { log, lines } = capture('debug', { app: 'switchboard' });
    log.info('agent created', { agentId: 'ag-1', count: 2 });
    expect(lines).toEqual([{ level: 'info', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), app: 'switchboard', agentId: 'ag-1', count: 2, msg: 'agent created' }]);
  });

  it('drops lines below its level and writes nothing when silent', () => {
    const warnOnly = capture('warn');
    warnOnly.log.debug('d');
    warnOnly.log.info('i');
    warnOnly.log.warn('w');
    warnOnly.log.error('e');
    expect(warnOnly.lines.map((l) => [l.level, l.msg])).toEqual([['warn', 'w'], ['error', 'e']]);
    const silent = capture('silent');
    silent.log.error('never');
    silent.log.child({ requestId: 'r' }).error('never either');
    expect(silent.lines).toEqual([]);
  });

  it("puts a child's bindings (a request id) on every line it writes, and on its own children", () => {
    const { log, lines } = capture();
    const req = log.child({ requestId: 'req-1' });
    req.info('request', { status: 200 });
    req.child({ service: 'chat' }).warn('slow');
    log.info('outside');
    expect(lines.map((l) => l.requestId)).toEqual(['req-1', 'req-1', undefined]);
    expect(lines[1]).toMatchObject({ service: 'chat', msg: 'slow' });
  });

  it('redacts fields by name at any depth, in data and in bindings', () => {
    const { log, lines } = capture();
    log.child({ botToken: 'bound-value' }).info('provider saved', {
      password: 'hunter2', apiKey: 'k', api_key: 'k', authorization: 'Bearer x', cookie: 'sb_session=1',
      provider: { name: 'openai', webhookSecret: 's', headers: [{ Authorization: 'Bearer y' }] },
    });
    expect(lines[0]).toMatchObject({
      botToken: '[redacted]', password: '[redacted]', apiKey: '[redacted]', api_key: '[redacted]', authorization: '[redacted]', cookie: '[redacted]',
      provider: { name: 'openai', webhookSecret: '[redacted]', headers: [{ Authorization: '[redacted]' }] },
    });
    expect(JSON.stringify(lines)).not.toMatch(/hunter2|bound-value|Bearer/);
  });

  it('masks a registered secret value wherever it appears: message, string fields, errors', () => {
    const secret = '123456:AAH-telegram-bot-token-value';
    registerSecret(secret);
    const { log, lines } = capture();
    log.error(`telegram refused https://api.telegram.org/bot${secret}/getMe`, {
      url: `https://api.telegram.org/bot${encodeURIComponent(secret)}/x`,
      detail: { text: `token ${secret}` },
      error: new Error(`fetch failed for bot${secret}`),
    });
    const line = lines[0]!;
    expect(JSON.stringify(line)).not.toContain('AAH-telegram-bot-token-value');
    expect(line.msg).toBe('telegram refused https://api.telegram.org/bot[redacted]/getMe');
    expect(line.url).toBe('https://api.telegram.org/bot[redacted]/x');
    expect(line.detail).toEqual({ text: 'token [redacted]' });
    expect(line.error).toMatchObject({ name: 'Error', message: 'fetch failed for bot[redacted]' });
    expect(line.error.stack).toContain('fetch failed for bot[redacted]');
  });
});
