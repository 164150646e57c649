import type { User } from './api';

/** The signed-in dashboard user, loaded once by the dashboard layout. */
class Session {
  user = $state<User | null>(null);

  get canManage(): boolean {
    return this.user?.role === 'owner' || this.user?.role === 'admin';
  }
  get isOwner(): boolean {
    return this.user?.role === 'owner';
  }
}

export const session = new Session();
