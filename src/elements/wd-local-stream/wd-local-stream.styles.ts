import { css } from 'lit';

export const styles = css`
  :host {
    display: block;
    position: relative;
    --wd-video-background: #000;
    --wd-video-radius: 8px;
    --wd-video-fit: cover;
  }
  :host([hidden]) {
    display: none;
  }
  video {
    display: block;
    width: 100%;
    height: 100%;
    background: var(--wd-video-background);
    border-radius: var(--wd-video-radius);
    object-fit: var(--wd-video-fit);
    transform: var(--wd-local-transform, scaleX(-1));
  }
`;
