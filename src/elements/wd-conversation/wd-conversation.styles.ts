import { css } from 'lit';

export const styles = css`
  :host {
    display: block;
    --wd-video-background: #000;
    --wd-video-radius: 8px;
    --wd-video-fit: cover;
    --wd-tile-min-width: 240px;
    --wd-gap: 8px;
    --wd-label-color: #fff;
    --wd-label-background: rgb(0 0 0 / 55%);
  }
  :host([hidden]) {
    display: none;
  }
  .grid {
    display: grid;
    gap: var(--wd-gap);
    grid-template-columns: repeat(auto-fit, minmax(min(var(--wd-tile-min-width), 100%), 1fr));
  }
  figure {
    position: relative;
    margin: 0;
    aspect-ratio: 4 / 3;
  }
  video {
    display: block;
    width: 100%;
    height: 100%;
    background: var(--wd-video-background);
    border-radius: var(--wd-video-radius);
    object-fit: var(--wd-video-fit);
  }
  figcaption {
    position: absolute;
    left: 8px;
    bottom: 8px;
    padding: 2px 8px;
    border-radius: 4px;
    font: 13px/1.4 system-ui, sans-serif;
    color: var(--wd-label-color);
    background: var(--wd-label-background);
  }
`;
