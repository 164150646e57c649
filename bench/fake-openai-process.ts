/**
 * The zero-delay fake OpenAI server in a process of its own (bench-only), for phases where many
 * connections are opened at once. Node accepts one new connection per turn of the event loop
 * (libuv ≥ 1.45, libuv/libuv#3696), so a fake sharing the server's busy loop accepted Switchboard's
 * 100 new model connections one per turn — seconds for the last — which a real provider does not do.
 *
 *   const fake = await startFakeOpenAIProcess();  // { url, port, close() }
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export type FakeProcess = { url: string; port: number; close(): Promise<void> };

export async function startFakeOpenAIProcess(): Promise<FakeProcess> {
  const child = fork(fileURLToPath(import.meta.url), ['--child'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const info = await new Promise<{ url: string; port: number }>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill(); reject(new Error('the fake model process did not start within 20 s')); }, 20_000);
    child.once('message', (m) => { clearTimeout(timer); resolve(m as { url: string; port: number }); });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the fake model process exited (${code})`)); });
  });
  return {
    ...info,
    close: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

if (process.argv[2] === '--child' && process.send) {
  const { startFakeOpenAI, echoReply } = await import('../test/fakes/openai-server.js');
  const fake = await startFakeOpenAI();
  fake.setDefault((req) => echoReply(req));
  process.send({ url: fake.url, port: fake.port });
  // The parent going away (or a kill) ends it.
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}
