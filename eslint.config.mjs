// Lint rules: typescript-eslint's type-checked recommendations for every
// TypeScript file, and React's hooks rules for the pages.
import reactHooks from "eslint-plugin-react-hooks";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["src/generated/**", ".next/**", "dist/**", "node_modules/**", "next-env.d.ts", "tests/fake-nvidia-smi/**", "**/*.mjs", "**/*.cjs"] },
  ...tseslint.configs.recommendedTypeChecked,
  { languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } } },
  {
    files: ["src/components/**/*.tsx", "src/app/**/*.tsx"],
    plugins: { "react-hooks": reactHooks },
    rules: reactHooks.configs.recommended.rules,
  },
);
