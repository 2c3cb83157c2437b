export { startOpenAiServer, type OpenAiServerOptions, type RunningServer, type ServerStats } from './openai-server.js';
