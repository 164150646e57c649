/**
 * One person, one label (issue 14.2). A person is shown everywhere — conversation lists, summaries,
 * a transcript, the people list, "Delete data" — as `{ id, label, identities }`: `id` is the person
 * id every action takes (the person their conversations are stored under: the canonical person of
 * the time, a phone when a browser was linked to it), `label` a display name when one is known, else
 * a short stable label derived from that id ("Visitor 7F3K"), and `identities` the channel identities
 * that count as them (the person itself and any browser or chat linked to it).
 */
import { sha256 } from '../infra/system.js';
import type { Store } from '../domain/ports.js';
import type { Person } from '../domain/types.js';

/** Crockford's base32: no I, L, O or U, so a label reads unambiguously aloud. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** What a person of each kind is called before they have a name. */
const NOUN: Record<string, string> = { web: 'Visitor', phone: 'WhatsApp contact', telegram: 'Telegram user', api: 'API caller' };

/** Four characters derived from the person id: the same id, the same code, on every page and every server. */
export function personCode(personId: string): string {
  const n = parseInt(sha256(personId).slice(0, 5), 16); // 20 bits
  let s = '';
  for (let i = 3; i >= 0; i--) s += ALPHABET[(n >> (i * 5)) & 31];
  return s;
}

/** The one label a person is shown by: their display name when known, else "<Visitor|…> <code>". */
export function personLabel(person: { id: string; kind: string; displayName?: string | null }): string {
  const name = person.displayName?.trim();
  if (name) return name;
  return `${NOUN[person.kind] ?? 'Person'} ${personCode(person.id)}`;
}

export type PersonIdentity = { kind: string; externalId: string };
export type PersonView = { id: string; label: string; identities: PersonIdentity[] };

/** A person id whose row is gone (erased): still one stable label, no identities. */
const unknown = (id: string): PersonView => ({ id, label: `Person ${personCode(id)}`, identities: [] });

/** Presents people by id, each loaded once: `present(ids)` → id → { id, label, identities }. */
export function peopleDirectory(store: Pick<Store, 'people'>) {
  async function one(id: string): Promise<PersonView> {
    const [p, ids] = await Promise.all([store.people.byId(id), store.people.identities(id)]);
    if (!p) return unknown(id);
    // The person itself first, then who is linked to it.
    const list: Person[] = [p, ...ids.filter((x) => x.id !== p.id)];
    return { id: p.id, label: personLabel(p), identities: list.map((x) => ({ kind: x.kind, externalId: x.externalId })) };
  }
  return {
    one,
    async present(ids: Iterable<string>): Promise<Map<string, PersonView>> {
      const unique = [...new Set(ids)];
      const views = await Promise.all(unique.map(one));
      return new Map(views.map((v) => [v.id, v]));
    },
  };
}
export type PeopleDirectory = ReturnType<typeof peopleDirectory>;
