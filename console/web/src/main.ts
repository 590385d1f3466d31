import { html, render } from 'htm/preact';
import { App, FLEET_POLL_MS } from './app';
import { loadLoginConfig } from './auth';
// uPlot's CSS here, not in the lazily loaded chart chunk: esbuild never injects a chunk's CSS.
import 'uplot/dist/uPlot.min.css';
import './style.css';

/** `?poll_ms=` reads the fleet more often (a wall screen, the browser tests), 250 ms to 60 s. */
const pollMsOf = (search: string): number => {
  const asked = Number(new URLSearchParams(search).get('poll_ms'));
  return Number.isInteger(asked) && asked >= 250 && asked <= 60_000 ? asked : FLEET_POLL_MS;
};

const root = document.getElementById('app');
if (root === null) throw new Error('index.html has no #app element');
// /config.json says how to log in: written by the local cloud, or uploaded beside the site in AWS.
loadLoginConfig().then(
  (config) => {
    root.textContent = '';
    render(html`<${App} config=${config} pollMs=${pollMsOf(location.search)} />`, root);
  },
  (error: unknown) => {
    root.textContent = `The console cannot start: ${error instanceof Error ? error.message : String(error)}`;
  },
);
