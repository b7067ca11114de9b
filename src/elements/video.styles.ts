import { css } from 'lit';

/** How every <video> of the elements looks: themed by the same --wd-video-* custom properties. */
export const videoStyles = css`
  video {
    display: block;
    width: 100%;
    height: 100%;
    background: var(--wd-video-background);
    border-radius: var(--wd-video-radius);
    object-fit: var(--wd-video-fit);
  }
`;
