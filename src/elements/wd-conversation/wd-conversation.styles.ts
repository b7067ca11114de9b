import { css } from 'lit';
import { videoStyles } from '../video.styles.js';

export const styles = [
  videoStyles,
  css`
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
  figcaption {
    display: flex;
    align-items: center;
    gap: 6px;
    position: absolute;
    left: 8px;
    bottom: 8px;
    padding: 2px 8px;
    border-radius: 4px;
    font: 13px/1.4 system-ui, sans-serif;
    color: var(--wd-label-color);
    background: var(--wd-label-background);
  }
  .badge {
    padding: 0 4px;
    border-radius: 3px;
    background: var(--wd-muted-background, #c62828);
  }
  .quality {
    display: inline-flex;
    align-items: flex-end;
    gap: 1px;
    height: 10px;
  }
  .quality i {
    width: 3px;
    background: currentColor;
    opacity: 0.3;
  }
  .quality i.on {
    opacity: 1;
  }
  .quality i:nth-child(1) { height: 20%; }
  .quality i:nth-child(2) { height: 40%; }
  .quality i:nth-child(3) { height: 60%; }
  .quality i:nth-child(4) { height: 80%; }
  .quality i:nth-child(5) { height: 100%; }
  .resume {
    position: absolute;
    inset: 50% auto auto 50%;
    transform: translate(-50%, -50%);
    font: 14px/1.4 system-ui, sans-serif;
    padding: 6px 14px;
    border: 0;
    border-radius: 16px;
    cursor: pointer;
  }
`,
];
