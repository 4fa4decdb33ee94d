export { webUiHandler, WEB_ROOT, CONTENT_SECURITY_POLICY, type StaticHandler } from './serve.js';
