import { createEmitter } from './emitter.js';
import { ErrorCode, WdVideoError } from './errors.js';
import { log } from './logger.js';
import type { ConversationMedia, MediaEvents, MediaOptions } from './media.js';
import { PeerLink } from './peer-link.js';
import type { IceCandidateData, Message } from '../protocol/index.js';

/** How long a join may wait for a member to announce its sender. */
const PENDING_JOIN_MS = 10_000;

/**
 * The media of one `p2p` conversation: a full mesh, one PeerLink to every other member. A group
 * grows by invitation: members tell each other whom to expect (`members`), and the newcomer
 * links to each with a `join` (a join is accepted only from someone a member announced).
 */
export class MeshMedia implements ConversationMedia {
  private readonly links = new Map<string, PeerLink>();
  /** Per link: until it must have connected, or until its broken path must have recovered. */
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly emitter = createEmitter<MediaEvents>();
  /** Who a member has announced (group calls): only they may ask to join. */
  private readonly knownMembers = new Set<string>();
  /** Joins from people not announced yet: the announcement may still be on its way. */
  private readonly pendingJoins = new Map<string, { sdp?: string; timer: ReturnType<typeof setTimeout> }>();
  private closed = false;

  constructor(private readonly options: MediaOptions) {}

  get maxParticipants(): number {
    return this.options.host.maxParticipants;
  }

  on<E extends keyof MediaEvents>(event: E, callback: MediaEvents[E]): () => void {
    return this.emitter.on(event, callback);
  }

  members(): string[] {
    return [...this.links.keys()];
  }

  add(uid: string): void {
    this.createLink(uid);
  }

  offer(uid: string): Promise<string> {
    return this.links.get(uid)!.createOffer();
  }

  async accepted(uid: string, sdp: string | undefined): Promise<void> {
    const link = this.links.get(uid);
    if (!sdp || !link) throw new WdVideoError(ErrorCode.INVITATION_FAILED, `${uid} accepted without an answer`);
    try {
      await link.applyAnswer(sdp);
    } catch (error) {
      throw new WdVideoError(ErrorCode.INVITATION_FAILED, `the answer of ${uid} was not usable: ${error}`, { cause: error });
    }
  }

  async answer(uid: string, offer: string | undefined, candidates: IceCandidateData[]): Promise<string> {
    if (!offer) throw new WdVideoError(ErrorCode.INVITATION_FAILED, `the invite from ${uid} carries no offer`);
    const link = this.createLink(uid);
    const answer = await link.answerOffer(offer);
    await link.addRemoteCandidates(candidates);
    return answer;
  }

  signalled(uid: string): void {
    this.links.get(uid)?.startTrickle();
  }

  /** Tells the newcomer whom else to connect to, and the others to expect it. Nothing in a 1:1 call. */
  welcome(memberId: string): void {
    const others = this.members().filter((id) => id !== memberId);
    if (others.length === 0) return;
    const tell = (to: string, members: string[]) =>
      this.options.host.send(to, { type: 'members', cid: this.options.cid, members }).catch((error) => log.warn(`could not tell ${to} the members`, error));
    tell(memberId, others);
    for (const other of others) tell(other, [memberId]);
  }

  async handle(from: string, message: Message): Promise<void> {
    if (message.type === 'join') return this.onJoin(from, message.sdp);
    const link = this.links.get(from);
    if (!link) return;
    switch (message.type) {
      case 'members':
        for (const id of message.members) {
          if (id === this.options.host.uid || this.knownMembers.has(id)) continue;
          this.knownMembers.add(id);
          const pending = this.pendingJoins.get(id);
          if (pending) {
            clearTimeout(pending.timer);
            this.pendingJoins.delete(id);
            await this.onJoin(id, pending.sdp);
          } else if (!this.links.has(id)) {
            await this.join(id);
          }
        }
        break;
      case 'sdp':
        await link.handleDescription(message.desc);
        break;
      case 'ice':
        await link.addRemoteCandidates(message.candidates);
        break;
      default:
        log.debug(`dropped ${message.type} from ${from}: not expected in a conversation`);
    }
  }

  async presenceLost(uid: string): Promise<void> {
    const link = this.links.get(uid);
    if (link && !(await link.isAlive()) && this.links.get(uid) === link) this.hangUp(uid);
  }

  /** Closes the link to `uid`. */
  hangUp(uid: string): void {
    const link = this.links.get(uid);
    if (!link) return;
    this.links.delete(uid);
    clearTimeout(this.timers.get(uid));
    this.timers.delete(uid);
    link.close();
    log.debug(`link to ${uid} removed`);
    if (!this.closed) this.emitter.emit('gone', uid);
  }

  async stats(uid: string): Promise<RTCStatsReport | null> {
    return (await this.links.get(uid)?.pc.getStats()) ?? null;
  }

  get connections(): RTCPeerConnection[] {
    return [...this.links.values()].map((l) => l.pc);
  }

  link(uid: string): PeerLink | undefined {
    return this.links.get(uid);
  }

  close(): void {
    this.closed = true;
    for (const { timer } of this.pendingJoins.values()) clearTimeout(timer);
    this.pendingJoins.clear();
    for (const id of this.members()) this.hangUp(id);
  }

  private createLink(remoteId: string): PeerLink {
    const { host, cid, localStream } = this.options;
    const link = new PeerLink({
      remoteId,
      polite: host.uid < remoteId,
      rtcConfig: host.rtcConfig,
      localStream,
      signal: (message) => {
        host.send(remoteId, { ...message, cid }).catch((error) => log.warn(`could not signal ${message.type} to ${remoteId}`, error));
      },
    });
    this.links.set(remoteId, link);
    let flowing = false;
    const wait = (ms: number, then: () => void) => {
      clearTimeout(this.timers.get(remoteId));
      this.timers.set(
        remoteId,
        setTimeout(() => this.links.get(remoteId) === link && then(), ms),
      );
    };
    const fail = () => {
      if (this.links.get(remoteId) !== link) return;
      if (!flowing) this.emitter.emit('failed', new WdVideoError(ErrorCode.PARTICIPANT_CONNECTION_FAILED, `could not connect to ${remoteId}`), remoteId);
      this.hangUp(remoteId);
    };
    link.on('connected', () => {
      clearTimeout(this.timers.get(remoteId));
      flowing = true;
      this.emitter.emit('participant', remoteId, link.remoteStream);
    });
    link.on('failed', fail);
    link.on('interrupted', () => {
      // Give ICE restarts this long; then the participant counts as gone.
      wait(host.reconnectTimeout, () => this.hangUp(remoteId));
      this.emitter.emit('interrupted', remoteId);
    });
    link.on('recovered', () => {
      clearTimeout(this.timers.get(remoteId));
      this.emitter.emit('recovered', remoteId);
    });
    wait(host.linkTimeout, () => !link.connected && fail());
    return link;
  }

  /** Links to another member: the smaller uid offers, the other asks it to. */
  private async join(memberId: string): Promise<void> {
    const { host, cid } = this.options;
    if (this.links.size + 1 >= this.maxParticipants) {
      return log.warn(`not joining ${memberId}: conversation ${cid} is full`);
    }
    if (host.uid > memberId) {
      await host.send(memberId, { type: 'join', cid });
      return;
    }
    const link = this.createLink(memberId);
    const sdp = await link.createOffer();
    await host.send(memberId, { type: 'join', cid, sdp });
    link.startTrickle();
  }

  /** Keeps an unannounced join a while; dropped if no member vouches for its sender in time. */
  private holdJoin(from: string, sdp: string | undefined): void {
    if (this.pendingJoins.has(from) || this.pendingJoins.size >= this.maxParticipants * 2) {
      return log.debug(`dropped join from ${from}: not announced by any member`);
    }
    const timer = setTimeout(() => {
      this.pendingJoins.delete(from);
      log.debug(`dropped join from ${from}: no member announced it`);
    }, PENDING_JOIN_MS);
    this.pendingJoins.set(from, { sdp, timer });
  }

  private async onJoin(from: string, sdp: string | undefined): Promise<void> {
    const existing = this.links.get(from);
    if (existing) {
      // Both sides reached for each other at once: perfect negotiation settles it.
      if (sdp) await existing.handleDescription({ type: 'offer', sdp });
      return;
    }
    if (!this.knownMembers.has(from)) return this.holdJoin(from, sdp);
    if (this.links.size + 1 >= this.maxParticipants) {
      return log.warn(`refused join from ${from}: conversation ${this.options.cid} is full`);
    }
    if (!sdp) return this.join(from);
    const link = this.createLink(from);
    const answer = await link.answerOffer(sdp);
    await this.options.host.send(from, { type: 'sdp', cid: this.options.cid, desc: { type: 'answer', sdp: answer } });
    link.startTrickle();
    this.welcome(from);
  }
}
