// Vite finds this file from its root (web/). The Tailwind config path is absolute so the
// build does not depend on the working directory.
import { fileURLToPath } from 'node:url';

export default {
  plugins: {
    tailwindcss: { config: fileURLToPath(new URL('./tailwind.config.js', import.meta.url)) },
    autoprefixer: {},
  },
};
