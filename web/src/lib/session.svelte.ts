import type { User } from './api';

/** The signed-in dashboard user, loaded once by the dashboard layout. */
class Session {
  user = $state<User | null>(null);
  /**
   * Whether the customer platform's pages (Customers, Plans) belong in the sidebar: sign-up is open
   * or a customer exists (GET /api/settings). False until known, so a fresh install never flashes them.
   */
  customerPlatform = $state(false);

  get canManage(): boolean {
    return this.user?.role === 'owner' || this.user?.role === 'admin';
  }
  get isOwner(): boolean {
    return this.user?.role === 'owner';
  }
}

export const session = new Session();
