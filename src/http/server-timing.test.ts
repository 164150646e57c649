import { describe, expect, it } from 'vitest';
import { serverTiming, streamStartTiming, totalTiming } from './server-timing.js';

describe('Server-Timing', () => {
  it("splits a whole answer into Switchboard's own time and the model's", () => {
    expect(totalTiming(100, { modelStartAt: 102, firstEventAt: 105, modelMs: 7.25 }, 110.5)).toBe('sb;dur=3.25;desc="switchboard", model;dur=7.25;desc="model"');
  });

  it('tells, when a stream starts, the time before the model and the model\'s time to its first event', () => {
    expect(streamStartTiming(100, { modelStartAt: 101.5, firstEventAt: 104, modelMs: 2.5 }, 104.2)).toBe('sb-pre;dur=1.5;desc="switchboard before the model", ttfb-model;dur=2.5;desc="model to first event"');
    expect(streamStartTiming(100, { modelStartAt: null, firstEventAt: null, modelMs: 0 }, 100.75)).toBe('sb-pre;dur=0.75;desc="switchboard before the model"');
  });

  it('rounds to the microsecond and never goes below zero', () => {
    expect(serverTiming([{ name: 'sb', dur: 1.23456, desc: 'x' }, { name: 'model', dur: -0.001, desc: 'y' }])).toBe('sb;dur=1.235;desc="x", model;dur=0;desc="y"');
  });
});
