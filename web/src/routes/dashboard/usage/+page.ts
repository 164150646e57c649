// Usage became Analytics (issue 5); old links and bookmarks land there with their range.
import { redirect } from '@sveltejs/kit';

export function load({ url }) {
  redirect(307, '/dashboard/analytics' + url.search);
}
