// How many budget alerts nobody has acknowledged yet: shown next to "Alerts" in the dashboard
// menu, refreshed on each page change and whenever an alert is acknowledged.
import { api } from './api';

export const alertCount = $state({ unseen: 0 });

export async function refreshAlertCount(): Promise<void> {
  try {
    alertCount.unseen = (await api.alerts()).alerts.filter((a) => !a.acknowledgedAt).length;
  } catch {
    /* the badge is a hint; the Alerts page shows any error */
  }
}
