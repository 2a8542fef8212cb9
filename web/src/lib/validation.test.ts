import { describe, expect, it } from 'vitest';
import { messages, validateConfirm, validateEmail, validatePassword, validateUsername } from './validation';

describe('validation', () => {
  it.each([
    ['alice', undefined],
    ['a.b_c9', undefined],
    ['abc', messages.username],
    ['a'.repeat(21), messages.username],
    ['al ice', messages.username],
    ['al-ice', messages.username],
  ])('username %s', (input, want) => {
    expect(validateUsername(input)).toBe(want);
  });

  it.each([
    ['a@example.com', undefined],
    ['a@example', messages.email],
    ['a@', messages.email],
    ['A <a@example.com>', messages.email],
  ])('email %s', (input, want) => {
    expect(validateEmail(input)).toBe(want);
  });

  it.each([
    ['Passw0rd!', undefined],
    ['Passw0rd', messages.password],
    ['passw0rd!', messages.password],
    ['PASSW0RD!', messages.password],
    ['Password!', messages.password],
    ['Pa0!', messages.password],
    ['Pass w0rd!', messages.password],
  ])('password %s', (input, want) => {
    expect(validatePassword(input)).toBe(want);
  });

  it('confirm must match', () => {
    expect(validateConfirm('a', 'a')).toBeUndefined();
    expect(validateConfirm('a', 'b')).toBe(messages.confirm);
  });
});
