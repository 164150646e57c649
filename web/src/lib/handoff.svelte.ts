// How many conversations wait for a person (the `handoff` tool or a trigger phrase asked for one and
// nobody took them over): shown next to "Inbox" in the dashboard menu, linking to the inbox's
// "needs a person" filter; refreshed on each page change and every half minute.
import { api } from './api';

export const needsHumanCount = $state({ waiting: 0 });

/** The inbox filtered to the conversations waiting for a person. */
export const NEEDS_HUMAN_HREF = '/dashboard/inbox?needsHuman=true';

export async function refreshNeedsHumanCount(): Promise<void> {
  try {
    needsHumanCount.waiting = (await api.needsHumanCount()).count;
  } catch {
    /* the badge is a hint; the Inbox page shows any error */
  }
}
