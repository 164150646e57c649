/** Row types of the tables, as Kysely sees them. Booleans are 0/1 integers on both dialects. */


export interface Database {
  users: {
    id: string; email: string; password_hash: string; role: string; created_at: string; monthly_budget_usd: number | null;
    name: string | null; email_verified_at: string | null; status: string; plan_id: string | null; plan_status: string;
    trial_ends_at: string | null; current_period_end: string | null; past_due_since: string | null;
    stripe_customer_id: string | null; stripe_subscription_id: string | null; timezone: string | null;
  };
  plans: {
    id: string; name: string; description: string; price_usd_month: number; stripe_price_id: string | null; max_agents: number;
    monthly_messages: number | null; monthly_cost_usd: number | null; tools: string; trial_days: number; sort: number; created_at: string; updated_at: string;
    max_schedules: number | null; min_schedule_minutes: number | null; min_check_interval_minutes: number | null;
    max_knowledge_sources: number | null; max_knowledge_pages: number | null; max_knowledge_bytes: number | null;
  };
  auth_tokens: { id: string; user_id: string; kind: string; token_hash: string; expires_at: string; used_at: string | null; created_at: string };
  stripe_events: { id: string; type: string; created: number; received_at: string };
  invoices: {
    id: string; user_id: string; stripe_invoice_id: string; amount_usd: number; currency: string; status: string; hosted_url: string | null;
    period_start: string | null; period_end: string | null; created_at: string;
  };
  provisioning: { agent_id: string; status: string; steps: string; error: string | null; attempts: number; token_sealed: string | null; started_at: string; finished_at: string | null };
  tokens: {
    id: string; user_id: string; kind: string; name: string; prefix: string; hash: string;
    created_at: string; last_used_at: string | null; expires_at: string | null;
  };
  agents: {
    id: string; owner_id: string; slug: string; name: string; description: string; icon: string;
    instructions: string; model: string | null; fallback_model: string | null; temperature: number;
    status: string; listed: number; shared_notes: number; version: number; created_at: string; updated_at: string;
    session_timeout_minutes: number; context_token_budget: number; memory_tools: number;
    monthly_budget_usd: number | null; downgrade_at_percent: number; stop_at_percent: number; budget_stop_message: string | null;
    person_daily_messages: number | null; person_daily_cost_usd: number | null; max_output_tokens: number;
    site_url: string | null; stack: string | null; paused_reason: string | null;
    tool_policy: string | null; plugins: string | null; handoff: string | null; site: string | null; voice: string | null; knowledge: string | null;
  };
  tool_calls: {
    id: string; agent_id: string; conversation_id: string | null; tool: string; args: string; outcome: string;
    result_preview: string | null; result_bytes: number; duration_ms: number; created_at: string;
  };
  approvals: {
    id: string; agent_id: string; conversation_id: string | null; tool_call_id: string; tool: string; args_sealed: string; status: string;
    result: string | null; decided_by: string | null; expires_at: string; created_at: string; decided_at: string | null;
  };
  /** The agent's workspace: persona files now, memory notes later. */
  agent_files: { agent_id: string; path: string; content: string; updated_at: string };
  /** Notes the model wrote in one person's conversations with an agent (only that person's prompts see them). */
  person_notes: { agent_id: string; person_id: string; path: string; content: string; updated_at: string };
  people: { id: string; kind: string; external_id: string; created_at: string; display_name: string | null };
  conversations: {
    id: string; agent_id: string; person_id: string; channel: string;
    created_at: string; last_message_at: string; closed_at: string | null;
    closed_reason: string | null; summary_status: string; running_summary: string | null;
    compacted_through: number; memory_context: string | null; downgraded: number;
    mode: string; needs_human: number; handoff_reason: string | null; needs_human_at: string | null;
    taken_over_by: string | null; taken_over_at: string | null; last_person_message_at: string | null;
    last_message_preview: string | null; last_message_role: string | null;
  };
  messages: {
    seq: number; id: string; conversation_id: string; role: string; content: string;
    status: string; error: string | null; created_at: string; source_id: string | null; channel: string | null;
    author_type: string | null; author_user_id: string | null; author_name: string | null;
  };
  providers: {
    name: string; kind: string; base_url: string | null; api_key_sealed: string | null;
    models: string; created_at: string; updated_at: string;
  };
  settings: { key: string; value: string; updated_at: string };
  /** One row per person message received, on any way in (analytics' messages and people). */
  person_messages: { id: string; agent_id: string; person_id: string | null; channel: string; day: string; created_at: string };
  usage: {
    id: string; agent_id: string | null; conversation_id: string | null; message_id: string | null;
    channel: string; purpose: string; provider: string; model: string;
    input_tokens: number; output_tokens: number; cost_usd: number;
    ttft_ms: number | null; latency_ms: number; status: string; error: string | null;
    day: string; created_at: string;
  };
  agent_channels: {
    agent_id: string; channel: string; secret_sealed: string; info: string; webhook_secret: string | null;
    mode: string; poll_offset: number | null; last_inbound_at: string | null; last_outbound_at: string | null;
    last_error: string | null; last_error_at: string | null; created_at: string;
  };
  inbox: {
    id: string; seq: number; channel: string; account: string; external_id: string; thread_key: string;
    agent_id: string | null; sender: string; sender_name: string | null; text: string; payload: string;
    status: string; attempts: number; locked_until: string | null; reply_ready: number; last_error: string | null;
    received_at: string; processed_at: string | null; order_key: string;
    /** JSON: the routing decision, once made (shared-number channels). */
    route: string | null;
  };
  outbox: {
    id: string; inbox_id: string; part: number; channel: string; agent_id: string | null; recipient: string;
    text: string; status: string; attempts: number; provider_message_id: string | null; last_error: string | null;
    created_at: string; sent_at: string | null; delivery: string | null; delivery_at: string | null;
  };
  direct_sends: {
    id: string; channel: string; agent_id: string | null; recipient: string; text: string; purpose: string; status: string;
    provider_message_id: string | null; last_error: string | null; delivery: string | null; delivery_at: string | null; created_at: string;
  };
  person_links: { person_id: string; linked_person_id: string; expires_at: string; created_at: string };
  link_codes: { id: string; person_id: string; phone: string; code_hash: string; attempts: number; expires_at: string; used_at: string | null; created_at: string };
  summaries: {
    id: string; conversation_id: string; agent_id: string; person_id: string; channel: string; summary: string;
    started_at: string; ended_at: string; message_count: number; model: string;
    input_tokens: number; output_tokens: number; cost_usd: number; embedding: string | null; created_at: string;
  };
  /** SQLite only: the FTS5 index over summaries (PostgreSQL uses summaries.tsv instead). */
  summaries_fts: { summary_id: string; body: string };
  /** The inbox's and outbox's rows by status, kept by triggers (migration 0033). */
  status_counts: { tbl: 'inbox' | 'outbox'; status: string; n: number };
  /** PostgreSQL only (migration 0033): each statement's net change by status, until folded into status_counts. */
  status_count_deltas: { id: number; tbl: 'inbox' | 'outbox'; status: string; d: number };
  spend: { scope: string; scope_id: string; period: string; spent_usd: number; reserved_usd: number; messages: number; updated_at: string };
  budget_holds: { id: string; scope: string; scope_id: string; period: string; amount_usd: number; expires_at: string };
  budget_alerts: {
    id: string; scope: string; scope_id: string; period: string; kind: string; owner_id: string | null; percent: number;
    spent_usd: number; budget_usd: number; message: string; created_at: string; acknowledged_at: string | null;
    webhook_status: string | null; email_status: string | null;
  };
  audit_log: { id: string; actor_id: string | null; actor_role: string | null; action: string; target_type: string; target_id: string; detail: string; created_at: string };
  person_state: { person_id: string; current_agent_id: string | null; pending_agent_id: string | null; pending_text: string | null; updated_at: string };
  media: {
    id: string; agent_id: string; person_id: string; conversation_id: string | null; message_id: string | null; kind: string; mime_type: string;
    bytes: number; storage_key: string; sha256: string; duration_seconds: number | null; width: number | null; height: number | null;
    transcript: string | null; created_at: string; expires_at: string;
  };
  schedules: {
    id: string; agent_id: string; kind: string; name: string; cron: string | null; every_minutes: number | null; timezone: string | null;
    instruction: string; deliver_channel: string; deliver_to: string | null; enabled: number; next_run_at: string | null; created_at: string; updated_at: string;
  };
  schedule_runs: {
    id: string; schedule_id: string; agent_id: string; scheduled_for: string | null; late: number; status: string; started_at: string; finished_at: string | null;
    cost_usd: number; output: string | null; error: string | null; conversation_id: string | null; delivery_channel: string; delivery_status: string | null; delivery_error: string | null;
  };
  owner_links: { code_hash: string; agent_id: string; expires_at: string; used_at: string | null; created_at: string };
  owner_chats: { agent_id: string; channel: string; chat_id: string; name: string | null; linked_at: string };
  site_checks: {
    id: string; agent_id: string; slot: string; at: string; ok: number; status: number; ttfb_ms: number | null; total_ms: number | null;
    cert_days_left: number | null; error: string | null;
  };
  site_state: { agent_id: string; state: string; since: string; reason: string | null };
  site_events: { id: string; agent_id: string; kind: string; at: string; detail: string };
  site_audits: {
    id: string; agent_id: string; at: string; url: string; source: string; status: string; finished_at: string | null;
    scores: string | null; findings: string | null; pages: string | null; notes: string | null; error: string | null;
  };
  knowledge_sources: {
    id: string; agent_id: string; type: string; title: string; url: string | null; status: string; error: string | null; pages: number; chunks: number;
    bytes: number; max_pages: number; sync_every_hours: number; file_text: string | null; mime_type: string | null; changes: string | null;
    last_synced_at: string | null; next_sync_at: string | null; created_at: string; updated_at: string;
  };
  knowledge_documents: { id: string; source_id: string; agent_id: string; url: string; title: string; content_hash: string; chunks: number; indexed_at: string };
  knowledge_chunks: { id: string; document_id: string; source_id: string; agent_id: string; seq: number; title: string; heading: string; url: string | null; page: number | null; text: string; embedding: string | null;
    /** Little-endian float32 (blob / bytea) and the embedding model that made it (migration 0026). */
    vector: Uint8Array | null; vector_model: string | null };
  /** SQLite only: the FTS5 index over knowledge_chunks (PostgreSQL uses knowledge_chunks.tsv). */
  knowledge_fts: { chunk_id: string; agent_id: string; body: string };
}
