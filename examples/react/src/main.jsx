import 'wd-video'; // defines <wd-video-client>, <wd-local-stream> and <wd-conversation>
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.jsx';

createRoot(document.getElementById('root')).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
