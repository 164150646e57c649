/** Domain types shared by services, storage and HTTP. No I/O here. */
export const ROLES = ['owner', 'admin', 'auditor', 'customer'] as const;
export type Role = (typeof ROLES)[number];

export type User = {
  id: string; email: string; role: Role; createdAt: string;
  /** Customers: a monthly cap across their agents (the plan's cap applies too). */
  monthlyBudgetUsd?: number | null;
  name?: string | null;
  /** IANA time zone the account's schedules and reports use when they name none (default UTC; issue 17). */
  timezone?: string | null;
  /** suspended: cannot sign in, and their agents do not answer. */
  status?: 'active' | 'suspended';
  emailVerifiedAt?: string | null;
};

/** Who is making a request, after authentication. */
export type Actor = { user: User; via: 'session' | 'api_key'; tokenId: string };

export const PERSONA_FILES = {
  soul: 'SOUL.md',
  agents: 'AGENTS.md',
  tools: 'TOOLS.md',
  user: 'USER.md',
} as const;
export type PersonaKey = keyof typeof PERSONA_FILES;
export type Persona = Record<PersonaKey, string> & { instructions: string };

/** provisioning → active (or failed); paused and resumed; deleted when deprovisioned (kept for the record). */
export type AgentStatus = 'active' | 'paused' | 'provisioning' | 'failed' | 'deleted';
export type SiteStack = { generator: string | null; frameworks: string[]; host: string | null; server: string | null; title: string | null };
export type Agent = {
  id: string;
  slug: string;
  name: string;
  description: string;
  icon: string;
  persona: Persona;
  model: string | null;
  fallbackModel: string | null;
  temperature: number;
  status: AgentStatus;
  listed: boolean;
  /** A session ends after this much inactivity and is summarized. */
  sessionTimeoutMinutes: number;
  /** Upper bound, in tokens, of the recent history sent with each model call. */
  contextTokenBudget: number;
  /** Whether the model gets the memory_search / memory_get / memory_write tools. */
  memoryTools: boolean;
  /**
   * Whether what the model notes in anyone's conversation goes to the agent's shared notes (MEMORY.md,
   * daily notes), which every person's prompt includes. Off: notes stay with the person they were written with.
   */
  sharedNotes: boolean;
  /** Monthly budget in USD (null: none); past downgradeAtPercent the fallback model answers, at stopAtPercent nothing does. */
  monthlyBudgetUsd: number | null;
  downgradeAtPercent: number;
  stopAtPercent: number;
  /** What people are told when the budget is spent (null: a default). */
  budgetStopMessage: string | null;
  /** Optional per-person daily caps, so one chatter cannot drain an agent. */
  personDailyMessages: number | null;
  personDailyCostUsd: number | null;
  /** Longest reply a model may write; also what a call reserves against the budget. */
  maxOutputTokens: number;
  /** The website a customer agent manages, and what the site check found there. */
  siteUrl: string | null;
  stack: SiteStack | null;
  /** Why it is paused: operator, customer, or billing (a billing pause lifts when the customer pays). */
  pausedReason: 'operator' | 'customer' | 'billing' | null;
  /** Which tools the agent may use (null: the default, memory tools only); deny wins over allow. */
  toolPolicy: { allow: string[]; deny: string[]; requireApproval: string[] } | null;
  /** HTTP plugins: API calls described in the agent's configuration, offered as tools. */
  plugins: PluginDef[];
  /** When a person steps in, or is asked for (issue 15). */
  handoff: HandoffSettings;
  /** The site watch (issue 17): uptime checks of `url` (null: the agent's siteUrl) and whether state changes alert. */
  site: SiteSettings;
  /** Spoken replies (issue 16): when the agent answers with audio too, and with which voice. */
  voice: VoiceSettings;
  /** The knowledge base (issue 18): whether the best passages for each message go into the prompt without a tool call. */
  knowledge: KnowledgeSettings;
  ownerId: string;
  version: number;
  createdAt: string;
  updatedAt: string;
};

/** The site watch's settings for an agent (issue 17). */
export type SiteSettings = {
  /** The URL checked; null: the agent's siteUrl. */
  url: string | null;
  checkIntervalMinutes: number;
  /** Whether an up/down change alerts the owner (the dashboard always records it). */
  alerts: boolean;
};
export const SITE_DEFAULTS: SiteSettings = { url: null, checkIntervalMinutes: 5, alerts: true };

/** How an agent hands a conversation to a person, and back (issue 15). */
export type HandoffSettings = {
  /** Minutes without a word from the operator, after the person's last message, before a taken-over conversation is handed back (0: never). */
  autoReleaseMinutes: number;
  /** Told to the person when a conversation is handed back automatically. */
  releaseMessage: string;
  /** Told to the person when a handoff is requested (by the `handoff` tool or a trigger phrase). */
  requestedMessage: string;
  /** Phrases in a person's message that ask for a person (matched case-insensitively as whole words). */
  triggers: string[];
  /** While a conversation waits for a person and nobody has taken it over, the agent stays quiet. */
  pauseWhileWaiting: boolean;
  /** The owner's Telegram chat (their user id with the agent's bot): told through the agent's own bot when a person is asked for; null: not told on Telegram. */
  notifyTelegramChatId: string | null;
};
/** `reply`: off (default), when-spoken-to (a voice note is answered with audio too), always. `voice`: the TTS voice name. */
export type VoiceSettings = { reply: 'off' | 'when-spoken-to' | 'always'; voice: string };
export const VOICE_DEFAULTS: VoiceSettings = { reply: 'off', voice: 'alloy' };
/** `autoContext`: the knowledge base's best passages for the person's message are put into the prompt (within a token budget). */
export type KnowledgeSettings = { autoContext: boolean };
export const KNOWLEDGE_DEFAULTS: KnowledgeSettings = { autoContext: false };

export const HANDOFF_DEFAULTS: HandoffSettings = {
  autoReleaseMinutes: 30,
  releaseMessage: "I'm back — how can I help?",
  requestedMessage: "I've asked a colleague to join; they will reply here.",
  triggers: ['human', 'real person', 'operator', 'talk to someone'],
  pauseWhileWaiting: false,
  notifyTelegramChatId: null,
};

/** An operator-defined HTTP tool. Header values may name secrets as {{secret:NAME}}; secrets are stored sealed. */
export type PluginDef = {
  name: string;
  description: string;
  /** JSON Schema (type object) of the tool's parameters. */
  parameters: Record<string, unknown>;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** URL with {param} placeholders, each bound to a parameter (URL-encoded when filled). */
  url: string;
  headers: Record<string, string>;
  /** JSON body template with {param} placeholders (JSON-encoded when filled). */
  body: string | null;
  /** Dot path into the JSON response to return (e.g. "data.items"); null: the whole body. */
  responsePath: string | null;
  /** Secret values by name, sealed; never returned by the API. */
  secretsSealed: Record<string, string>;
};

/** `preview`: the agent editor's preview chat (usage rows only; never a conversation's channel). */
export type Channel = 'web' | 'api' | 'openai' | 'telegram' | 'whatsapp' | 'preview' | 'schedule';

/** Per inbox channel: the kind of person its sender id names, and the conversation channel its messages belong to. */
export const CHANNEL_IDENTITY: Record<string, { person: string; channel: Channel }> = {
  telegram: { person: 'telegram', channel: 'telegram' },
  whatsapp: { person: 'phone', channel: 'whatsapp' },
  twilio: { person: 'phone', channel: 'whatsapp' },
  web: { person: 'web', channel: 'web' },
  api: { person: 'api', channel: 'api' },
};

/** The inbox channels whose senders are people of this kind (a phone writes on whatsapp and twilio). */
export const inboxChannelsOf = (personKind: string) => Object.keys(CHANNEL_IDENTITY).filter((c) => CHANNEL_IDENTITY[c]!.person === personKind);

export type MessageRole = 'user' | 'assistant';
export type MessageStatus = 'complete' | 'error';
/** Who wrote a message: the agent (its model), a person of the operator's side replying by hand, or the person talking. */
export type MessageAuthor = { type: 'agent' | 'human' | 'person'; userId?: string; name?: string };
export type ChatMessage = {
  id: string;
  conversationId: string;
  role: MessageRole;
  content: string;
  status: MessageStatus;
  error: string | null;
  channel: Channel | null;
  createdAt: string;
  /** user messages: the person; assistant messages: the agent unless a person wrote it (`type: 'human'`). */
  author: MessageAuthor;
};

/** Who answers a conversation: the agent, or a person who took it over. */
export type ConversationMode = 'agent' | 'human';

export type Conversation = {
  id: string;
  agentId: string;
  personId: string;
  channel: Channel;
  createdAt: string;
  lastMessageAt: string;
  closedAt: string | null;
  closedReason: CloseReason | null;
  summaryStatus: SummaryStatus;
  /** Older turns of this session compacted into prose, and the last message seq it covers. */
  runningSummary: string | null;
  compactedThrough: number;
  /** Earlier sessions' summaries chosen when this session started. */
  memoryContext: string | null;
  /** A reply in this session came from the fallback model because the budget ran low. */
  downgraded: boolean;
  /** `human`: a person took it over and the agent does not answer it on any channel. */
  mode: ConversationMode;
  /** A handoff was requested (by the person or the agent) and nobody has taken it over yet. */
  needsHuman: boolean;
  handoffReason: string | null;
  needsHumanAt: string | null;
  /** The user who took it over, and when (null in `agent` mode). */
  takenOverBy: string | null;
  takenOverAt: string | null;
  /** When the person last wrote (the automatic hand-back counts from here). */
  lastPersonMessageAt: string | null;
};

export type CloseReason = 'timeout' | 'new_conversation' | 'switched_agent' | 'closed_by_operator';
export type SummaryStatus = 'none' | 'pending' | 'ready' | 'failed';

/** What one finished session was about, written by the model after the session ended. */
export type Summary = {
  id: string;
  conversationId: string;
  agentId: string;
  personId: string;
  channel: Channel;
  summary: string;
  startedAt: string;
  endedAt: string;
  messageCount: number;
  model: string;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  createdAt: string;
};

/** A Markdown file in an agent's workspace: persona files, MEMORY.md, daily notes memory/YYYY-MM-DD.md. */
export type WorkspaceFileKind = 'persona' | 'memory' | 'daily' | 'file';
export type WorkspaceFile = { path: string; kind: WorkspaceFileKind; content: string; updatedAt: string };

/** `displayName`: what the channel told us the person is called (Telegram's name, WhatsApp's profile name), if anything. */
export type Person = { id: string; kind: string; externalId: string; createdAt: string; displayName?: string | null };

export type ProviderKind = 'openai' | 'anthropic' | 'openai-compatible';
export type ProviderConfig = {
  name: string;
  kind: ProviderKind;
  baseUrl: string | null;
  apiKey: string | null;
  models: string[];
  source: 'env' | 'settings';
};

export type MediaKind = 'audio' | 'image';
/** A stored file a person sent (or a reply spoken): its owner, what the bytes are (sniffed, never as claimed), and where they live. */
export type MediaItem = {
  id: string;
  agentId: string;
  personId: string;
  conversationId: string | null;
  messageId: string | null;
  kind: MediaKind;
  mimeType: string;
  bytes: number;
  storageKey: string;
  sha256: string;
  durationSeconds: number | null;
  width: number | null;
  height: number | null;
  transcript: string | null;
  createdAt: string;
  expiresAt: string;
};

export type TokenUsage = { inputTokens: number; outputTokens: number; cachedInputTokens?: number };

export type UsageRecord = {
  id: string;
  agentId: string | null;
  conversationId: string | null;
  messageId: string | null;
  channel: Channel;
  purpose: 'chat' | 'summary' | 'routing' | 'embedding' | 'preview' | 'transcription' | 'speech';
  provider: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  ttftMs: number | null;
  latencyMs: number;
  status: 'ok' | 'error';
  error: string | null;
  createdAt: string;
};

export type UsageTotals = { requests: number; inputTokens: number; outputTokens: number; costUsd: number };

/** The provisioning pipeline of a customer agent, in the order its steps run. */
export const PROVISIONING_STEPS = ['validate_token', 'check_site', 'generate_workspace', 'index_site', 'bind_telegram', 'health_check'] as const;
export type ProvisioningStepName = (typeof PROVISIONING_STEPS)[number];
export type ProvisioningStepState = 'pending' | 'running' | 'done' | 'failed' | 'skipped';
/** One step as the customer sees it: `detail` is a sentence (the bot's @username, the stack found, why it failed). */
export type ProvisioningStep = { name: ProvisioningStepName; state: ProvisioningStepState; detail: string; updatedAt: string | null };
export type Provisioning = {
  agentId: string;
  /** running: a job is (or is about to be) working on it; succeeded; failed: waiting for a fix and a retry. */
  status: 'running' | 'succeeded' | 'failed';
  steps: ProvisioningStep[];
  error: string | null;
  /** Runs of the pipeline so far (1 for the first, +1 per retry). */
  attempts: number;
  /** The bot token, sealed, while the pipeline still needs it (until bound, or until a failed run is retried). */
  tokenSealed: string | null;
  startedAt: string;
  finishedAt: string | null;
};
