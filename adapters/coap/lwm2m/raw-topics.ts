// The retained raw path topics (`lwm2m/<obj>/<inst>/<res>[/<ri>]`) published during one registration, so that
// those of an instance that no longer exists can be cleared.

/** A client inventing paths could make the set grow without end: past this many, topics are no longer noted. */
const MAX_TOPICS = 1024;

export class RawTopics {
  readonly #topics = new Set<string>();

  note(subtopic: string): void {
    if (this.#topics.size < MAX_TOPICS) this.#topics.add(subtopic);
  }

  /** Forgets and returns the topics at or below `subtopic` (`lwm2m/3303/1`). */
  takeWithin(subtopic: string): string[] {
    const taken: string[] = [];
    for (const topic of this.#topics) {
      if (topic !== subtopic && !topic.startsWith(`${subtopic}/`)) continue;
      taken.push(topic);
      this.#topics.delete(topic);
    }
    return taken;
  }
}
