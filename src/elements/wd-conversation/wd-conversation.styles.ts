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
    --wd-control-background: rgb(0 0 0 / 60%);
    --wd-control-color: #fff;
    --wd-control-active-background: #c62828;
    --wd-hang-up-background: #c62828;
    --wd-hang-up-color: #fff;
    --wd-focus-color: #1a73e8;
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
  figure[speaking] {
    border-radius: var(--wd-video-radius);
    box-shadow: 0 0 0 3px var(--wd-speaking-color, #43a047);
  }
  :host([layout='speaker']) .grid {
    grid-template-columns: repeat(auto-fill, minmax(min(var(--wd-strip-tile-width, 160px), 100%), 1fr));
  }
  :host([layout='speaker']) figure[dominant] {
    grid-column: 1 / -1;
    order: -1;
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
  .controls {
    display: flex;
    flex-wrap: wrap;
    justify-content: center;
    gap: 6px;
    margin-top: var(--wd-gap);
  }
  .controls button,
  .pip {
    font: 13px/1.2 system-ui, sans-serif;
    padding: 6px 12px;
    border: 0;
    border-radius: 16px;
    color: var(--wd-control-color);
    background: var(--wd-control-background);
    cursor: pointer;
  }
  .controls [aria-pressed='true'],
  .pip[aria-pressed='true'] {
    background: var(--wd-control-active-background);
  }
  .controls [part~='hang-up'] {
    color: var(--wd-hang-up-color);
    background: var(--wd-hang-up-background);
  }
  .pip {
    position: absolute;
    top: 8px;
    right: 8px;
    display: flex;
    padding: 6px;
  }
  button:focus-visible {
    outline: 2px solid var(--wd-focus-color);
    outline-offset: 2px;
  }
`,
];
