import { describe, expect, it } from 'vitest';
import { PunchBudget } from '../src/punch-budget.js';

function clock(): { now: () => number; advance(ms: number): void } {
  let t = 1000;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}

describe('PunchBudget', () => {
  it('a command is ours only after we asked, towards the IP the registry gave, within the window', () => {
    const c = clock();
    const budget = new PunchBudget({ now: c.now, solicitWindowMs: 10_000 });
    expect(budget.command('198.18.0.20', 0)).toBe('answer');
    budget.asked(7, ['198.18.0.20']);
    expect(budget.command('198.18.0.20', 0)).toBe('attempt');
    expect(budget.command('::ffff:198.18.0.20', 0)).toBe('attempt');
    // Another IP while we punch towards node 7: the attacker's, answered as anyone's.
    expect(budget.command('203.0.113.9', 0)).toBe('answer');
    c.advance(10_000);
    expect(budget.command('198.18.0.20', 0)).toBe('answer');
    // Asked without knowing the peer's IP yet: any command is ours for the window.
    budget.asked(8);
    expect(budget.command('203.0.113.9', 0)).toBe('attempt');
    expect(budget.counters).toMatchObject({ punchSolicited: 3, punchUnsolicited: 3 });
  });

  it('caps the full attempts running at once', () => {
    const budget = new PunchBudget({ maxAttempts: 2 });
    budget.asked(1);
    expect(budget.command('192.0.2.1', 1)).toBe('attempt');
    expect(budget.command('192.0.2.1', 2)).toBe('drop');
    expect(budget.counters.punchAttemptsRefused).toBe(1);
  });

  it('answers to unsolicited commands: per IP and in all', () => {
    const c = clock();
    const budget = new PunchBudget({
      now: c.now,
      unsolicitedPerIpPerSecond: 1,
      unsolicitedPerIpBurst: 3,
      unsolicitedPerSecond: 5,
    });
    const answers = (ip: string, n: number) =>
      Array.from({ length: n }, () => budget.command(ip, 0)).filter((a) => a === 'answer').length;
    expect(answers('192.0.2.1', 10)).toBe(3);
    c.advance(1000);
    expect(answers('192.0.2.1', 10)).toBe(1);
    // The global bucket (5/s, burst 10) holds back many IPs at once.
    expect(Array.from({ length: 20 }, (_, i) => budget.command(`192.0.2.${i + 10}`, 0))).toContain('drop');
    expect(budget.counters.punchUnsolicitedRefused).toBeGreaterThan(10);
  });

  it('birthday bursts only towards vouched IPs, a few at once, one per IP per interval', () => {
    const c = clock();
    const budget = new PunchBudget({
      now: c.now,
      maxBirthdays: 1,
      birthdayPerIpMs: 15_000,
      vouchedMs: 30_000,
    });
    expect(budget.startBirthday('198.18.0.20')).toBe(false);
    expect(budget.counters.birthdayRefusedUnvouched).toBe(1);
    budget.vouch(['198.18.0.20', '198.18.0.30']);
    expect(budget.startBirthday('198.18.0.20')).toBe(true);
    expect(budget.startBirthday('198.18.0.30')).toBe(false);
    budget.birthdayEnded();
    expect(budget.birthdaysRunning).toBe(0);
    expect(budget.startBirthday('198.18.0.30')).toBe(true);
    budget.birthdayEnded();
    expect(budget.startBirthday('198.18.0.20')).toBe(false);
    expect(budget.counters.birthdayRefusedBusy).toBe(2);
    c.advance(15_000);
    expect(budget.startBirthday('198.18.0.20')).toBe(true);
    budget.birthdayEnded();
    c.advance(30_000);
    expect(budget.vouched('198.18.0.20')).toBe(false);
  });
});
