import { createEmitter } from './emitter.js';
import { ErrorCode, WdVideoError } from './errors.js';
import type { LocalStream } from './local-stream.js';
import { log } from './logger.js';
import { silentWhileAbsent } from './ice.js';
import type { ConversationMedia, MediaEvents, MediaOptions } from './media.js';
import { PeerLink } from './peer-link.js';
import { MAX_INVITE_AGE_MS, PROTOCOL_VERSION, type IceCandidateData, type Message, type OutgoingMessage } from '../protocol/index.js';
import { CallTimelines } from './timeline.js';

/** How long a join may wait for a member to announce its sender. */
const PENDING_JOIN_MS = 10_000;
/** A held link whose invite never settles is dropped after the longest an invite may ring. */
const HOLD_LIMIT_MS = MAX_INVITE_AGE_MS;

/**
 * The media of one `p2p` conversation: a full mesh, one PeerLink to every other member. A group
 * grows by invitation: members tell each other whom to expect (`members`), and the newcomer
 * links to each with a `join` (a join is accepted only from someone a member announced).
 *
 * Warm-up: a link to someone who has not consented (an invitee, a newcomer whose invite still
 * rings) and every link of media warming up for an invite to us is held: connected, sending
 * nothing. It is released, and its participant announced, once both sides are in.
 */
export class MeshMedia implements ConversationMedia {
  readonly timelines = new CallTimelines();
  private readonly links = new Map<string, PeerLink>();
  /** Per link: until it must have connected, until its broken path must have recovered, or until a hold expires. */
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly emitter = createEmitter<MediaEvents>();
  /** Who a member has announced (group calls): only they may ask to join. */
  private readonly knownMembers = new Set<string>();
  /** Joins from people not announced yet: the announcement may still be on its way. */
  private readonly pendingJoins = new Map<string, { sdp?: string; ringing: boolean; timer: ReturnType<typeof setTimeout> }>();
  /** Others who have not consented yet: their invite rings. */
  private readonly awaiting = new Set<string>();
  /**
   * Newcomers whose accept reached us: a join they sent while ringing may come after it (they
   * send the join once their offer is made, the accept at once), and must not hold them then.
   */
  private readonly consentedNewcomers = new Set<string>();
  /** Members we asked to link with while our invite rang: they hear our accept, link or not yet. */
  private readonly toldRinging = new Set<string>();
  /** Links that connected while held: announced on release. */
  private readonly connectedHeld = new Set<string>();
  private localStream?: LocalStream;
  /** We take part: false while warming up for an invite that rings here. */
  private consented: boolean;
  private closed = false;

  constructor(private readonly options: MediaOptions) {
    this.localStream = options.localStream;
    this.consented = options.localStream !== undefined;
  }

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
    this.awaiting.add(uid);
    this.createLink(uid);
  }

  offer(uid: string): Promise<string> {
    return this.links.get(uid)!.createOffer();
  }

  /** In a group: the invitee learns whom to link to while it rings, the members to expect it. */
  introduce(uid: string): void {
    const others = this.members().filter((id) => id !== uid && !this.awaiting.has(id));
    if (others.length === 0) return;
    this.tell(uid, others);
    for (const other of others) this.tell(other, [uid], true);
  }

  async ringing(uid: string, sdp: string | undefined): Promise<void> {
    if (sdp) await this.applyAnswer(uid, sdp);
  }

  async accepted(uid: string, sdp: string | undefined): Promise<void> {
    const link = this.links.get(uid);
    if (!link || (!sdp && !link.pc.remoteDescription)) throw new WdVideoError(ErrorCode.INVITATION_FAILED, `${uid} accepted without an answer`);
    if (sdp) await this.applyAnswer(uid, sdp);
    this.awaiting.delete(uid);
    this.updateHold(uid);
  }

  async warm(uid: string, offer: string | undefined, candidates: IceCandidateData[]): Promise<string> {
    if (!offer) throw new WdVideoError(ErrorCode.INVITATION_FAILED, `the invite from ${uid} carries no offer`);
    const link = this.createLink(uid);
    const answer = await link.answerOffer(offer);
    await link.addRemoteCandidates(candidates);
    return answer;
  }

  async useStream(localStream: LocalStream): Promise<void> {
    this.localStream ??= localStream;
    await Promise.all([...this.links.values()].map((link) => link.useStream(localStream)));
  }

  /** Our answer for the accept; none after warming up (the `ringing` message carried it). */
  async answer(uid: string, offer: string | undefined, candidates: IceCandidateData[]): Promise<string | undefined> {
    const warmed = this.links.has(uid);
    this.consented = true;
    if (!warmed) return this.warm(uid, offer, candidates);
    // We warmed up while it rang: media flows (our gates open first: the accept makes the far
    // side ask for our key frame), and everyone we linked to hears we are in (over the link
    // itself first, the fastest way; through the broker too, as the inviter hears from the client).
    for (const id of this.members()) this.updateHold(id);
    for (const link of this.links.values()) link.sendDirect({ v: PROTOCOL_VERSION, type: 'accept', cid: this.options.cid });
    for (const id of new Set([...this.links.keys(), ...this.toldRinging])) if (id !== uid) this.tell(id);
    this.toldRinging.clear();
    return undefined;
  }

  signalled(uid: string): void {
    this.links.get(uid)?.startTrickle();
  }

  /** Tells the newcomer whom else to connect to, and the others to expect it. Nothing in a 1:1 call. */
  welcome(memberId: string, invited = false): void {
    const others = this.members().filter((id) => id !== memberId);
    if (others.length === 0) return;
    this.tell(memberId, others);
    for (const other of others) this.tell(other, [memberId], invited);
  }

  async handle(from: string, message: Message): Promise<void> {
    if (message.type === 'join') return this.onJoin(from, message.sdp, message.ringing === true);
    if (message.type === 'accept') return this.onConsent(from);
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
            await this.onJoin(id, pending.sdp, pending.ringing);
          } else if (!this.links.has(id) && !message.invited) {
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

  async presenceLost(uid: string, absent: () => boolean): Promise<void> {
    const link = this.links.get(uid);
    if (!link) return;
    const ours = () => absent() && this.links.get(uid) === link;
    if (await silentWhileAbsent(() => link.isAlive(), ours)) this.hangUp(uid);
  }

  /** Closes the link to `uid`. */
  hangUp(uid: string): void {
    const link = this.links.get(uid);
    if (!link) return;
    this.links.delete(uid);
    this.awaiting.delete(uid);
    this.connectedHeld.delete(uid);
    clearTimeout(this.timers.get(uid));
    this.timers.delete(uid);
    link.close();
    this.timelines.end(uid);
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

  /** Tells `to` about members (`invited`: they are still ringing), or (`members` undefined) that we accepted. */
  private tell(to: string, members?: string[], invited = false): void {
    const { cid } = this.options;
    const message: OutgoingMessage = members ? { type: 'members', cid, members, ...(invited ? { invited } : {}) } : { type: 'accept', cid };
    this.options.host.send(to, message).catch((error) => log.warn(`could not send ${message.type} to ${to}`, error));
  }

  private async applyAnswer(uid: string, sdp: string): Promise<void> {
    const link = this.links.get(uid);
    if (!link) throw new WdVideoError(ErrorCode.INVITATION_FAILED, `no link to ${uid} for its answer`);
    try {
      await link.applyAnswer(sdp);
    } catch (error) {
      throw new WdVideoError(ErrorCode.INVITATION_FAILED, `the answer of ${uid} was not usable: ${error}`, { cause: error });
    }
  }

  /** A newcomer whose join said it rings has accepted its invite: our link to it may carry media. */
  private onConsent(from: string): void {
    // Recorded even before the link or the join exists: the link made later is not held.
    this.consentedNewcomers.add(from);
    if (this.awaiting.delete(from)) this.updateHold(from);
  }

  private isHeld(uid: string): boolean {
    return !this.consented || this.awaiting.has(uid);
  }

  /** Releases the link to `uid` once both sides are in: media flows, and its participant is announced once connected. */
  private updateHold(uid: string): void {
    const link = this.links.get(uid);
    if (!link || !link.held || this.isHeld(uid)) return;
    void link.release();
    if (this.connectedHeld.delete(uid)) {
      clearTimeout(this.timers.get(uid));
      this.emitter.emit('participant', uid, link.remoteStream);
    } else {
      this.waitForConnection(uid, link);
    }
  }

  private waitForConnection(uid: string, link: PeerLink): void {
    this.setTimer(uid, link, this.options.host.linkTimeout, () => !link.connected && this.failLink(uid, link));
  }

  private setTimer(uid: string, link: PeerLink, ms: number, then: () => void): void {
    clearTimeout(this.timers.get(uid));
    this.timers.set(
      uid,
      setTimeout(() => this.links.get(uid) === link && then(), ms),
    );
  }

  private failLink(uid: string, link: PeerLink, flowing = false): void {
    if (this.links.get(uid) !== link) return;
    if (!flowing) {
      const error = new WdVideoError(ErrorCode.PARTICIPANT_CONNECTION_FAILED, `could not connect to ${uid}`);
      this.timelines.of(uid).fail(error);
      this.emitter.emit('failed', error, uid);
    }
    this.hangUp(uid);
  }

  private createLink(remoteId: string): PeerLink {
    const { host, cid } = this.options;
    const held = this.isHeld(remoteId);
    const link = new PeerLink({
      remoteId,
      polite: host.uid < remoteId,
      rtcConfig: host.rtcConfig,
      localStream: this.localStream,
      held,
      releasedByOurAccept: !this.consented,
      signal: (message) => {
        host.send(remoteId, { ...message, cid }).catch((error) => log.warn(`could not signal ${message.type} to ${remoteId}`, error));
      },
    });
    this.links.set(remoteId, link);
    let flowing = false;
    link.on('progress', (step) => this.links.get(remoteId) === link && this.timelines.of(remoteId).mark(step));
    link.on('connected', () => {
      clearTimeout(this.timers.get(remoteId));
      flowing = true;
      if (link.held) this.connectedHeld.add(remoteId);
      else this.emitter.emit('participant', remoteId, link.remoteStream);
    });
    link.on('failed', () => this.failLink(remoteId, link, flowing));
    // Over the link comes only what the peer could send through the broker: handled the same way.
    link.on('message', (message) => message.cid === cid && message.type === 'accept' && host.deliver(remoteId, message));
    link.on('interrupted', () => {
      // Give ICE restarts this long; then the participant counts as gone.
      this.setTimer(remoteId, link, host.reconnectTimeout, () => this.hangUp(remoteId));
      if (!link.held) this.emitter.emit('interrupted', remoteId);
    });
    link.on('recovered', () => {
      clearTimeout(this.timers.get(remoteId));
      if (!link.held) this.emitter.emit('recovered', remoteId);
    });
    // A held link has until its invite is settled; the time to connect counts from the release.
    if (held) this.setTimer(remoteId, link, HOLD_LIMIT_MS, () => link.held && this.hangUp(remoteId));
    else this.waitForConnection(remoteId, link);
    return link;
  }

  /** Links to another member: the smaller uid offers, the other asks it to. While we ring, the link stays held. */
  private async join(memberId: string): Promise<void> {
    const { host, cid } = this.options;
    if (this.links.size + 1 >= this.maxParticipants) {
      return log.warn(`not joining ${memberId}: conversation ${cid} is full`);
    }
    const ringing = this.consented ? {} : { ringing: true };
    if (!this.consented) this.toldRinging.add(memberId);
    if (host.uid > memberId) {
      await host.send(memberId, { type: 'join', cid, ...ringing });
      return;
    }
    const link = this.createLink(memberId);
    const sdp = await link.createOffer();
    await host.send(memberId, { type: 'join', cid, sdp, ...ringing });
    link.startTrickle();
  }

  /** Keeps an unannounced join a while; dropped if no member vouches for its sender in time. */
  private holdJoin(from: string, sdp: string | undefined, ringing: boolean): void {
    if (this.pendingJoins.has(from) || this.pendingJoins.size >= this.maxParticipants * 2) {
      return log.debug(`dropped join from ${from}: not announced by any member`);
    }
    const timer = setTimeout(() => {
      this.pendingJoins.delete(from);
      log.debug(`dropped join from ${from}: no member announced it`);
    }, PENDING_JOIN_MS);
    this.pendingJoins.set(from, { sdp, ringing, timer });
  }

  private async onJoin(from: string, sdp: string | undefined, ringing: boolean): Promise<void> {
    const existing = this.links.get(from);
    if (existing) {
      // Both sides reached for each other at once: perfect negotiation settles it.
      if (sdp) await existing.handleDescription({ type: 'offer', sdp });
      return;
    }
    if (!this.knownMembers.has(from)) return this.holdJoin(from, sdp, ringing);
    if (this.links.size + 1 >= this.maxParticipants) {
      return log.warn(`refused join from ${from}: conversation ${this.options.cid} is full`);
    }
    // The latest join says whether its sender still rings, unless its accept came first.
    const stillRinging = ringing && !this.consentedNewcomers.has(from);
    if (stillRinging) this.awaiting.add(from);
    else this.awaiting.delete(from);
    if (!sdp) return this.join(from);
    const link = this.createLink(from);
    const answer = await link.answerOffer(sdp);
    await this.options.host.send(from, { type: 'sdp', cid: this.options.cid, desc: { type: 'answer', sdp: answer } });
    link.startTrickle();
    this.welcome(from, stillRinging);
  }
}
