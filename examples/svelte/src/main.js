import 'wd-video'; // defines <wd-video-client>, <wd-local-stream> and <wd-conversation>
import { mount } from 'svelte';
import App from './App.svelte';

mount(App, { target: document.getElementById('app') });
