import { describe, expect, it } from 'vitest';
import { localEventBus } from './events.js';

describe('the in-process event bus', () => {
  it('delivers to every listener until it unsubscribes, and a failing listener does not stop the others', () => {
    const bus = localEventBus();
    const got: string[] = [];
    expect(bus.listening()).toBe(false);
    const off = bus.subscribe((e) => got.push(`a:${e.conversationId}`));
    bus.subscribe(() => { throw new Error('boom'); });
    bus.subscribe((e) => got.push(`c:${e.conversationId}`));
    expect(bus.listening()).toBe(true);
    bus.publish({ type: 'conversation.updated', agentId: 'a1', conversationId: 'c1' });
    off();
    bus.publish({ type: 'conversation.updated', agentId: 'a1', conversationId: 'c2' });
    expect(got).toEqual(['a:c1', 'c:c1', 'c:c2']);
  });
});
