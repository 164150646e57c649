// The agent editor's Settings form as it holds the agent's fields (strings for inputs, numbers for
// number inputs); AgentEditor.svelte turns it into the PATCH body.
import type { Agent, Persona } from './api';
import type { BudgetForm } from './components/AgentBudgetFields.svelte';
import type { HandoffForm } from './components/AgentHandoffFields.svelte';
import type { VoiceForm } from './components/AgentVoiceFields.svelte';

/** The Settings tab's fields. */
export interface AgentForm {
  name: string;
  slug: string;
  description: string;
  icon: string;
  model: string;
  temperature: number;
  listed: boolean;
  status: Agent['status'];
  persona: Persona;
  sessionTimeoutMinutes: number;
  contextTokenBudget: number;
  memoryTools: boolean;
  /** Budget, thresholds, stop message, per-person caps, longest reply, fallback model. */
  budget: BudgetForm;
  /** Trigger phrases, what the person is told, waiting quietly, automatic hand-back. */
  handoff: HandoffForm;
  /** Spoken replies and the voice (issue 16). */
  voice: VoiceForm;
}
