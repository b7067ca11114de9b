/** One line of text for a wd-* event's detail, for the list of events received. */
export function describe({ type, detail }) {
  switch (type) {
    case 'wd-ready':
      return `online as ${detail.uid}`;
    case 'wd-invite':
      return `from ${detail.from}`;
    case 'wd-error':
      return `${detail.code}: ${detail.message}`;
    case 'wd-stream-ready':
      return 'camera and microphone on';
    case 'wd-invite-accepted':
    case 'wd-invite-failed':
    case 'wd-invite-rejected':
      return `${detail.invite.to}: ${detail.invite.status}`;
    case 'wd-participant-connected':
    case 'wd-participant-disconnected':
      return detail.participant.participantId;
    default:
      return '';
  }
}
