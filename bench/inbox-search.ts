// The inbox search (GET /api/conversations?q=): a LIKE over the messages of the conversations in scope,
// measured on 500 conversations of 20 messages (10 000 messages), one page of 51 rows.
// Run: npx tsx bench/inbox-search.ts (SQLite in memory), or with TEST_DATABASE_URL=postgres://… (PostgreSQL).
import { makeTestServices } from '../test/helpers/test-services.js';

const t = await makeTestServices();
const { store, clock, close } = t;
const agent = await t.services.agents.create((await t.as('owner')).actor, { name: 'A' });
const words = 'order delivery refund weekend parcel invoice address password account shipping'.split(' ');
for (let c = 0; c < 500; c++) {
  const p = await store.people.upsert('web', `p${c}`);
  const conv = await store.conversations.create({ agentId: agent.id, personId: p.id, channel: 'web' });
  for (let i = 0; i < 20; i++) {
    clock.advance(1000);
    await store.conversations.addMessage({ conversationId: conv.id, role: i % 2 ? 'assistant' : 'user', status: 'complete',
      content: `Message ${i} about ${words[(c * 7 + i) % words.length]} and some more ordinary text to make it about a hundred and twenty characters long ${c}-${i}` });
  }
}
const time = async (label: string, f: Parameters<typeof store.conversations.inboxPage>[0]) => {
  for (let i = 0; i < 3; i++) await store.conversations.inboxPage(f); // warm up
  const n = 20;
  const started = performance.now();
  let rows = 0;
  for (let i = 0; i < n; i++) rows = (await store.conversations.inboxPage(f)).length;
  console.log(`${process.env.TEST_DATABASE_URL ? 'postgres' : 'sqlite'} ${label}: ${((performance.now() - started) / n).toFixed(2)} ms/page (${rows} rows)`);
};
await time('no search', { limit: 51 });
await time('q=refund (a common word)', { limit: 51, q: 'refund' });
await time('q=zzz (no match: every message read)', { limit: 51, q: 'zzz' });
await time('q=499-19 (one match)', { limit: 51, q: '499-19' });
await close();
