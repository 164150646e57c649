// How many tool calls wait for the owner's approval: shown next to "Approvals" in the dashboard
// menu, refreshed on each page change, every half minute, and whenever a request is decided.
import { api } from './api';

export const approvalCount = $state({ pending: 0 });

export async function refreshApprovalCount(): Promise<void> {
  try {
    const { approvals } = await api.approvals('pending');
    const now = Date.now();
    approvalCount.pending = approvals.filter((a) => new Date(a.expiresAt).getTime() > now).length;
  } catch {
    /* the badge is a hint; the Approvals page shows any error */
  }
}
