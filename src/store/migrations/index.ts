/**
 * Numbered migrations, run at start, one file per number. One set serves SQLite and PostgreSQL: only
 * portable column types (text, integer, double precision) and no dialect-specific SQL beyond the few
 * branches on `isPostgres`. Shipped migrations are frozen: Kysely's migrator records each by name, so a
 * name or its SQL never changes; a change to the schema is a new file with the next number, listed here.
 */
import type { Migration } from 'kysely';
import { migration as m0001 } from './0001_core.js';
import { migration as m0002 } from './0002_channels.js';
import { migration as m0003 } from './0003_single_owner.js';
import { migration as m0004 } from './0004_whatsapp.js';
import { migration as m0005 } from './0005_linking.js';
import { migration as m0006 } from './0006_inbox_order.js';
import { migration as m0007 } from './0007_memory.js';
import { migration as m0008 } from './0008_budgets.js';
import { migration as m0009 } from './0009_customers.js';
import { migration as m0010 } from './0010_tools.js';
import { migration as m0011 } from './0011_indexes.js';
import { migration as m0012 } from './0012_inbox_route.js';
import { migration as m0013 } from './0013_direct_sends.js';
import { migration as m0014 } from './0014_security.js';
import { migration as m0015 } from './0015_audit.js';
import { migration as m0016 } from './0016_person_messages.js';
import { migration as m0017 } from './0017_inbox_open.js';
import { migration as m0018 } from './0018_handoff.js';
import { migration as m0019 } from './0019_media.js';
import { migration as m0020 } from './0020_voice.js';
import { migration as m0021 } from './0021_schedules.js';
import { migration as m0022 } from './0022_site_watch.js';
import { migration as m0023 } from './0023_knowledge.js';
import { migration as m0024 } from './0024_waiting_index.js';
import { migration as m0026 } from './0026_knowledge_vectors.js';
import { migration as m0027 } from './0027_knowledge_fast.js';
import { migration as m0029 } from './0029_usage_conversation.js';
import { migration as m0030 } from './0030_hot_path_indexes.js';
import { migration as m0031 } from './0031_summaries_fts_scope.js';
import { migration as m0032 } from './0032_read_indexes.js';
import { migration as m0033 } from './0033_status_counts.js';
import { migration as m0034 } from './0034_inbox_by_agent.js';
import { migration as m0035 } from './0035_inbox_lean.js';
import { migration as m0036 } from './0036_lean_writes.js';
import { migration as m0037 } from './0037_stripe_event_seconds.js';

export const migrations: Record<string, Migration> = {
  '0001_core': m0001,
  '0002_channels': m0002,
  '0003_single_owner': m0003,
  '0004_whatsapp': m0004,
  '0005_linking': m0005,
  '0006_inbox_order': m0006,
  '0007_memory': m0007,
  '0008_budgets': m0008,
  '0009_customers': m0009,
  '0010_tools': m0010,
  '0011_indexes': m0011,
  '0012_inbox_route': m0012,
  '0013_direct_sends': m0013,
  '0014_security': m0014,
  '0015_audit': m0015,
  '0016_person_messages': m0016,
  '0017_inbox_open': m0017,
  '0018_handoff': m0018,
  '0019_media': m0019,
  '0020_voice': m0020,
  '0021_schedules': m0021,
  '0022_site_watch': m0022,
  '0023_knowledge': m0023,
  '0024_waiting_index': m0024,
  '0026_knowledge_vectors': m0026,
  '0027_knowledge_fast': m0027,
  '0029_usage_conversation': m0029,
  '0030_hot_path_indexes': m0030,
  '0031_summaries_fts_scope': m0031,
  '0032_read_indexes': m0032,
  '0033_status_counts': m0033,
  '0034_inbox_by_agent': m0034,
  '0035_inbox_lean': m0035,
  '0036_lean_writes': m0036,
  '0037_stripe_event_seconds': m0037,
};
