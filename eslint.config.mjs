// Lint rules: typescript-eslint's type-checked recommendations for every
// TypeScript file, and the rules of hooks for the pages.
import reactHooks from "eslint-plugin-react-hooks";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "src/generated/**",
      ".next/**",
      "dist/**",
      "node_modules/**",
      "next-env.d.ts",
      "tests/fake-nvidia-smi/**",
      "**/*.mjs",
      "**/*.cjs",
    ],
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // `const { a, ...rest } = x` drops `a` on purpose; a leading underscore marks a binding kept unused.
      "@typescript-eslint/no-unused-vars": ["error", { ignoreRestSiblings: true, argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["src/components/**/*.tsx", "src/app/**/*.tsx"],
    plugins: { "react-hooks": reactHooks },
    rules: { "react-hooks/rules-of-hooks": "error", "react-hooks/exhaustive-deps": "error" },
  },
);
