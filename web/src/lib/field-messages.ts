// The one place the server's validation problems ({path, message}, zod's words) become words
// for people: "name: is required" becomes "Give the agent a name". ApiError.fieldMessage and the
// form-level box (FieldErrors.svelte) both read it, so a form never shows code-speak.

/** What to say when a field is missing, by its path (the last part of a nested path is tried too). */
const REQUIRED: Record<string, string> = {
  name: 'Give the agent a name',
  slug: 'Give the agent a web address (slug)',
  email: 'Enter your e-mail address',
  password: 'Enter a password',
  model: 'Choose a model',
  siteUrl: "Enter the website's address",
  telegramBotToken: 'Paste the bot token from @BotFather',
  token: 'This link is incomplete; open it again from the e-mail',
  baseUrl: "Enter the server's address",
  apiKey: 'Paste the API key',
};

/** How a field is named in a sentence, by its path (else from the path itself: `monthlyBudgetUsd` → "Monthly budget usd"). */
const LABELS: Record<string, string> = {
  name: 'The name',
  slug: 'The slug',
  description: 'The description',
  icon: 'The icon',
  email: 'The e-mail address',
  password: 'The password',
  model: 'The model',
  fallbackModel: 'The fallback model',
  defaultModel: 'The default model',
  temperature: 'The temperature',
  monthlyBudgetUsd: 'The monthly budget',
  downgradeAtPercent: 'The downgrade threshold',
  stopAtPercent: 'The stop threshold',
  budgetStopMessage: 'The stop message',
  personDailyMessages: 'Messages per person per day',
  personDailyCostUsd: 'The cost per person per day',
  maxOutputTokens: 'The longest reply',
  sessionTimeoutMinutes: 'The session timeout',
  contextTokenBudget: 'The context budget',
  'persona.soul': 'SOUL.md',
  'persona.agents': 'AGENTS.md',
  'persona.tools': 'TOOLS.md',
  'persona.user': 'USER.md',
  'persona.instructions': 'The instructions',
  siteUrl: 'The website address',
  telegramBotToken: 'The bot token',
  webhookUrl: 'The webhook address',
  baseUrl: 'The server address',
};

/** `monthlyBudgetUsd` → "Monthly budget usd", `templateVars.site_url` → "Site url". */
function fromPath(path: string): string {
  const last = path.split('.').filter((p) => !/^\d+$/.test(p)).pop() ?? path;
  const words = last.replaceAll(/[_-]+/g, ' ').replaceAll(/([a-z])([A-Z])/g, '$1 $2').toLowerCase().trim();
  return words ? words.charAt(0).toUpperCase() + words.slice(1) : 'This field';
}

export function fieldLabel(path: string): string {
  return LABELS[path] ?? LABELS[path.split('.').pop() ?? ''] ?? fromPath(path);
}

const plural = (n: string, one: string) => `${n} ${one}${n === '1' ? '' : 's'}`;

/** The server's message for a field, as a sentence a person can act on. */
export function humanFieldMessage(path: string, message: string, required?: string): string {
  const label = fieldLabel(path);
  const m = message.trim();
  const key = path.split('.').pop() ?? path;
  const missing = () => required ?? REQUIRED[path] ?? REQUIRED[key] ?? `Fill in ${label.replace(/^The /, 'the ')}`;
  if (/^(is required|required)$/i.test(m) || /expected string to have >=1 characters?/i.test(m) || /received undefined/i.test(m)) return missing();
  let r: RegExpMatchArray | null;
  if ((r = m.match(/expected string to have <=(\d+) characters?/i))) return `${label} can be at most ${plural(r[1]!, 'character')}`;
  if ((r = m.match(/expected string to have >=(\d+) characters?/i))) return `${label} needs at least ${plural(r[1]!, 'character')}`;
  if ((r = m.match(/expected array to have <=(\d+) items?/i))) return `${label} can have at most ${plural(r[1]!, 'item')}`;
  if ((r = m.match(/expected number to be <=?(\d[\d.]*)/i))) return `${label} can be at most ${r[1]}`;
  if ((r = m.match(/expected number to be >=?(-?\d[\d.]*)/i))) return `${label} must be at least ${r[1]}`;
  if (/expected int/i.test(m)) return `${label} must be a whole number`;
  if (/expected number/i.test(m)) return `${label} must be a number`;
  if (/invalid email/i.test(m)) return 'Enter an e-mail address like name@example.com';
  if (/invalid url/i.test(m)) return `${label} must be a web address like https://example.com`;
  if (/^is not a known field$/i.test(m)) return `${label} is not something this form sends (reload the page)`;
  if (/^invalid input$/i.test(m)) return `${label} is not valid`;
  // Our own messages start in lower case after the field's name ("must look like provider:model …").
  if (/^[a-z]/.test(m)) return `${label} ${m}`;
  return m;
}
