// Type test (checked by `npm run typecheck`, never run): TypeScript users get typed elements and
// typed events from the tag names alone.
import type { Participant } from '../../src/core/conversation.js';
import type { WdVideoError } from '../../src/core/errors.js';
import '../../src/index.js';
import type { CallStep, WdConversation } from '../../src/index.js';

const conversation = document.querySelector('wd-conversation');
const typed: WdConversation | null = conversation;
void typed;

conversation?.addEventListener('wd-participant-connected', (event) => {
  const participant: Participant = event.detail.participant;
  const id: string = participant.participantId;
  void id;
});
conversation?.addEventListener('wd-error', (event) => {
  const code: number = event.detail.code;
  const error: WdVideoError = event.detail;
  void code;
  void error;
});
conversation?.addEventListener('wd-call-timeline', (event) => {
  const { participantId, timeline } = event.detail;
  const decoded: number | undefined = timeline.steps.firstFrameDecoded;
  const failedAt: CallStep | undefined = timeline.failed?.step;
  void [participantId, decoded, failedAt, timeline.warm];
});
document.createElement('wd-video-client').noWarmUp = true;
document.createElement('wd-local-stream').resolution = 'standard-16:9';
const client = document.createElement('wd-video-client');
client.getToken = () => fetch('/token').then((r) => r.text());
client.getToken = () => 'a.jwt.token';
client.token = 'a.jwt.token';
client.password = 'secret';

// And the mistakes are caught:
// @ts-expect-error a participant has no `name`
conversation?.addEventListener('wd-participant-connected', (event) => event.detail.participant.name);
// @ts-expect-error not a step of the timeline
conversation?.addEventListener('wd-call-timeline', (event) => event.detail.timeline.steps.connected);
// @ts-expect-error not a preset
document.createElement('wd-local-stream').resolution = 'ultra';
// @ts-expect-error participantId is a string
document.createElement('wd-conversation').participantId = 42;
// @ts-expect-error getToken gives a string (or a promise of one)
client.getToken = async () => ({ token: 'a.jwt.token' });
