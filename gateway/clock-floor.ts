// A board without a real-time clock (a Raspberry Pi) starts at 1970, or at an old fake-hwclock time, until NTP sets
// the clock: wall-clock times from before this floor were taken by a clock that was not set yet.
export const UNSET_CLOCK_BEFORE_MS = Date.UTC(2024, 0, 1);
