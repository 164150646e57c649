// Tailwind CSS v3 (pure JavaScript, no native binaries). Loaded by postcss.config.js.
// The UI was designed with Tailwind v4; tailwind.v4-compat.js brings back the v4 palette and
// v4's `space-*`/`divide-*` so it looks the same.
import { v4Colors, v4SpaceAndDivide } from './tailwind.v4-compat.js';

/** @type {import('tailwindcss').Config} */
export default {
  // Paths are relative to this file, not to the working directory.
  content: { relative: true, files: ['./src/**/*.{html,js,svelte,ts}'] },
  // `dark:` follows the `dark` class on <html> (see static/theme-init.js). 'selector' generates
  // `:where(.dark, .dark *)`: it matches <html class="dark"> itself and adds no specificity.
  darkMode: 'selector',
  // Like Tailwind v4: `hover:` only applies on devices that can hover, so a tap on a phone
  // does not leave a button stuck in its hover colour.
  future: { hoverOnlyWhenSupported: true },
  // v4's preflight is in src/preflight.css; v4's `space-*`/`divide-*` come from the plugin.
  corePlugins: {
    preflight: false,
    space: false,
    divideWidth: false,
    divideColor: false,
    divideStyle: false,
    divideOpacity: false,
  },
  plugins: [v4SpaceAndDivide],
  theme: {
    extend: {
      colors: v4Colors,
      fontFamily: {
        sans: [
          'ui-sans-serif',
          'system-ui',
          '-apple-system',
          "'Segoe UI'",
          'Roboto',
          "'Helvetica Neue'",
          'Arial',
          'sans-serif',
          "'Apple Color Emoji'",
          "'Segoe UI Emoji'",
        ],
        mono: ['ui-monospace', 'SFMono-Regular', 'Menlo', 'Monaco', 'Consolas', "'Liberation Mono'", 'monospace'],
      },
    },
  },
};
