import { describe, expect, it } from 'vitest';
import { matchTrigger } from './handoff.js';

const DEFAULTS = ['human', 'real person', 'operator', 'talk to someone'];

describe('matchTrigger: the trigger phrase a message contains as whole words', () => {
  it.each([
    ['I want a human', 'human'],
    ['HUMAN!!', 'human'],
    ['can I talk to a Real\n  Person?', 'real person'],
    ['(operator)', 'operator'],
    ['please, talk to someone now', 'talk to someone'],
  ])('finds %j', (text, phrase) => expect(matchTrigger(text, DEFAULTS)).toBe(phrase));

  it.each(['that was humane', 'humans are great', 'superhuman', 'the operators manual', 'a real personality', 'unhuman'])('ignores %j', (text) =>
    expect(matchTrigger(text, DEFAULTS)).toBeNull());

  it('matches phrases in other languages and scripts', () => {
    const triggers = ['atendente', 'ser humano', 'человек', 'オペレーター', '人工客服', 'مشغل'];
    expect(matchTrigger('Quero um ATENDENTE.', triggers)).toBe('atendente');
    expect(matchTrigger('sou humano e atendentes', triggers)).toBeNull();
    expect(matchTrigger('Позовите ЧЕЛОВЕКА', triggers)).toBeNull(); // another word form is another word
    expect(matchTrigger('нужен человек', triggers)).toBe('человек');
    expect(matchTrigger('オペレーターと話したい', triggers)).toBe('オペレーター'); // no spaces between words in Japanese
    expect(matchTrigger('我要人工客服', triggers)).toBe('人工客服');
    expect(matchTrigger('أريد مشغل الآن', triggers)).toBe('مشغل');
  });

  it('treats a phrase as text, not a pattern, and skips empty ones', () => {
    expect(matchTrigger('a+b', ['a+b'])).toBe('a+b');
    expect(matchTrigger('aab', ['a+b'])).toBeNull();
    expect(matchTrigger('anything', ['', '  '])).toBeNull();
  });

  it('compares composed and decomposed accents alike', () => {
    expect(matchTrigger('quero um atendente humano', ['atendente humano'.normalize('NFD')])).toBe('atendente humano'.normalize('NFD'));
    expect(matchTrigger('fale com o técnico', ['te\u0301cnico'])).toBe('te\u0301cnico');
  });
});
