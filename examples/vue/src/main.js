import 'wd-video'; // defines <wd-video-client>, <wd-local-stream> and <wd-conversation>
import { createApp } from 'vue';
import App from './App.vue';

createApp(App).mount('#app');
