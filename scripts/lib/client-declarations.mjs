// The client's declarations as one file that needs nothing of the server. tsc emits
// declarations for the client and everything its AppRouter type reaches; the ones the
// client's declarations refer to (the router, the row shapes it answers with) are then
// copied into a single file, renamed where two files use one name. What stays outside is
// imported from the package's own dependencies: a reference to anything else (a dev
// dependency's types, Node's types, a class of the server) fails the build, naming it.
import fs from "node:fs";
import path from "node:path";
import ts from "typescript";

/**
 * @param {object} options
 * @param {string} options.root the project folder (tsconfig.json, package.json)
 * @param {string} options.entry the client's source file
 * @param {string} options.serverOnly a source file whose types a client never sees: each reference becomes `object`
 * @returns {string} the declaration file's text
 */
export function bundleClientDeclarations({ root, entry, serverOnly }) {
  const virtualDir = path.join(root, "dist", ".client-declarations");
  const options = compilerOptions(root, virtualDir);
  const emitted = emitDeclarations(entry, options);
  const asDeclaration = (source) => path.join(virtualDir, path.relative(options.rootDir, source)).replace(/\.tsx?$/, ".d.ts");
  const program = declarationProgram(emitted, asDeclaration(entry), options);
  const { dependencies = {} } = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
  return new Bundle({
    program,
    entry: asDeclaration(entry),
    serverOnly: asDeclaration(serverOnly),
    virtualDir,
    libDir: path.dirname(ts.getDefaultLibFilePath(options)),
    dependencies: new Set(Object.keys(dependencies)),
  }).text();
}

function compilerOptions(root, outDir) {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    path.join(root, "tsconfig.json"),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(describe([diagnostic]));
      },
    },
  );
  const { plugins: _plugins, incremental: _incremental, tsBuildInfoFile: _buildInfo, ...options } = parsed.options;
  return { ...options, noEmit: false, declaration: true, emitDeclarationOnly: true, outDir, rootDir: path.join(root, "src") };
}

function emitDeclarations(entry, options) {
  const program = ts.createProgram([entry], options);
  const errors = ts.getPreEmitDiagnostics(program).filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length) throw new Error(`the client does not compile:\n${describe(errors)}`);
  const files = new Map();
  const result = program.emit(undefined, (fileName, text) => files.set(path.resolve(fileName), text), undefined, true);
  if (result.diagnostics.length) throw new Error(`the client's declarations cannot be emitted:\n${describe(result.diagnostics)}`);
  return files;
}

/** A program over the emitted declarations, held in memory, with the real node_modules around them. */
function declarationProgram(files, entry, options) {
  const host = ts.createCompilerHost(options, true);
  const real = {
    fileExists: host.fileExists,
    readFile: host.readFile,
    getSourceFile: host.getSourceFile,
    directoryExists: host.directoryExists,
  };
  host.fileExists = (file) => files.has(path.resolve(file)) || real.fileExists.call(host, file);
  host.readFile = (file) => files.get(path.resolve(file)) ?? real.readFile.call(host, file);
  host.directoryExists = (dir) =>
    [...files.keys()].some((file) => file.startsWith(path.resolve(dir) + path.sep)) || real.directoryExists.call(host, dir);
  host.getSourceFile = (file, language, ...rest) => {
    const text = files.get(path.resolve(file));
    return text === undefined ? real.getSourceFile.call(host, file, language, ...rest) : ts.createSourceFile(file, text, language, true);
  };
  return ts.createProgram({
    rootNames: [entry],
    options: { ...options, noEmit: true, declaration: false, emitDeclarationOnly: false },
    host,
  });
}

class Bundle {
  constructor({ program, entry, serverOnly, virtualDir, libDir, dependencies }) {
    Object.assign(this, { program, serverOnly, virtualDir, libDir, dependencies });
    this.checker = program.getTypeChecker();
    this.entry = program.getSourceFile(entry);
    /** symbol -> its name in the bundle */
    this.copied = new Map();
    /** statements waiting to be copied: { statement, symbol } */
    this.queue = [];
    /** "specifier\0name" -> local name, for what copied declarations import from dependencies */
    this.imports = new Map();
    this.used = new Set();
    for (const statement of this.entry.statements) {
      if (ts.isImportDeclaration(statement) && !this.isRelative(statement))
        for (const name of importedNames(statement)) this.used.add(name);
      else if (!ts.isImportDeclaration(statement)) for (const name of declaredNames(statement)) this.used.add(name);
    }
  }

  text() {
    const entryParts = [];
    for (const statement of this.entry.statements) {
      if (ts.isImportDeclaration(statement)) {
        if (this.isRelative(statement)) continue;
        this.checkSpecifier(statement.moduleSpecifier.text, statement);
        entryParts.push(statement.getFullText(this.entry).trim());
      } else {
        entryParts.push(this.rewrite(statement, this.entry));
      }
    }
    const copiedParts = [];
    while (this.queue.length) {
      const { statement, symbol } = this.queue.shift();
      copiedParts.push(this.rewrite(statement, statement.getSourceFile(), symbol));
    }
    const importParts = [...this.imports].map(([key, local]) => {
      const [specifier, name] = key.split("\0");
      return `import type { ${name === local ? name : `${name} as ${local}`} } from ${JSON.stringify(specifier)};`;
    });
    return [
      "// The types of nvidia-oc/client, built from src/client and the server's router by scripts/build-client.mjs.",
      ...importParts,
      ...entryParts,
      ...copiedParts,
      "export {};",
      "",
    ].join("\n");
  }

  isRelative(importDeclaration) {
    return importDeclaration.moduleSpecifier.text.startsWith(".");
  }

  /** The statement's text with its references renamed; a copied statement also loses `export`. */
  rewrite(statement, sourceFile, copiedAs) {
    const edits = [];
    if (copiedAs) {
      const allowed =
        ts.isInterfaceDeclaration(statement) ||
        ts.isTypeAliasDeclaration(statement) ||
        ts.isEnumDeclaration(statement) ||
        ts.isVariableStatement(statement);
      if (!allowed) throw this.unportable(statement, "a client cannot use it (only interfaces, types, enums and constants travel)");
      for (const modifier of statement.modifiers ?? []) {
        if (modifier.kind === ts.SyntaxKind.ExportKeyword || modifier.kind === ts.SyntaxKind.DefaultKeyword)
          edits.push([modifier.getStart(sourceFile), skipSpaces(sourceFile.text, modifier.end), ""]);
      }
    }
    const visit = (node) => {
      if (ts.isImportTypeNode(node)) return this.importType(node, sourceFile, edits, visit);
      if (ts.isTypeReferenceNode(node) && this.isServerOnly(this.target(leftmost(node.typeName)))) {
        edits.push([node.getStart(sourceFile), node.end, "object"]);
        return;
      }
      if (ts.isExportSpecifier(node)) return this.exportSpecifier(node, sourceFile, edits);
      if (ts.isIdentifier(node)) return this.identifier(node, sourceFile, edits);
      ts.forEachChild(node, visit);
    };
    visit(statement);
    let text = statement.getFullText(sourceFile);
    const offset = statement.getFullStart();
    for (const [start, end, replacement] of edits.sort((a, b) => b[0] - a[0])) {
      text = text.slice(0, start - offset) + replacement + text.slice(end - offset);
    }
    return text.trim();
  }

  /** `import("../x").Name<...>`: the copied Name for a file of ours, `object` for the server's own context. */
  importType(node, sourceFile, edits, visit) {
    const specifier = node.argument.literal.text;
    if (!specifier.startsWith(".")) {
      this.checkSpecifier(specifier, node);
      node.typeArguments?.forEach(visit);
      return;
    }
    if (!node.qualifier || !ts.isIdentifier(node.qualifier))
      throw this.unportable(node, "a whole module or a namespace member is referred to");
    const target = this.target(node.qualifier);
    if (this.isServerOnly(target)) {
      edits.push([node.getStart(sourceFile), node.end, "object"]);
      return;
    }
    edits.push([node.getStart(sourceFile), node.qualifier.end, `${node.isTypeOf ? "typeof " : ""}${this.copy(target)}`]);
    node.typeArguments?.forEach(visit);
  }

  identifier(node, sourceFile, edits) {
    const declaresCopy = isTopLevel(node.parent) && node.parent.name === node;
    if (!declaresCopy && !isReference(node)) return;
    const symbol = this.checker.getSymbolAtLocation(node);
    if (!symbol) return;
    const target = symbol.flags & ts.SymbolFlags.Alias ? this.checker.getAliasedSymbol(symbol) : symbol;
    const declaration = target.declarations?.[0];
    if (!declaration) return;
    if (declaration.getSourceFile() === this.entry) return; // the client's own, kept as it is
    const file = declaration.getSourceFile().fileName;
    let name;
    if (this.isOurs(file)) {
      if (!isTopLevel(declaration)) return; // a type parameter, a property
      name = this.copy(target);
    } else if (symbol !== target && sourceFile !== this.entry) {
      // Reached through an import of a copied file: the bundle imports it itself.
      name = this.importFrom(symbol, target, node);
    } else {
      this.checkDeclarationFile(file, node);
      return;
    }
    if (name !== node.text) edits.push([node.getStart(sourceFile), node.end, name]);
  }

  /** `export type { AppRouter }` in the client: exports the copy, under the client's name. */
  exportSpecifier(node, sourceFile, edits) {
    const local = this.checker.getExportSpecifierLocalTargetSymbol(node);
    const target = local && local.flags & ts.SymbolFlags.Alias ? this.checker.getAliasedSymbol(local) : local;
    const declaration = target?.declarations?.[0];
    if (!declaration || !this.isOurs(declaration.getSourceFile().fileName)) return;
    const name = this.copy(target);
    const exported = node.name.text;
    if (name !== exported) edits.push([node.getStart(sourceFile), node.end, `${name} as ${exported}`]);
  }

  target(identifier) {
    const symbol = this.checker.getSymbolAtLocation(identifier);
    return symbol && symbol.flags & ts.SymbolFlags.Alias ? this.checker.getAliasedSymbol(symbol) : symbol;
  }

  isServerOnly(symbol) {
    return Boolean(symbol?.declarations?.some((d) => d.getSourceFile().fileName === this.serverOnly));
  }

  isOurs(file) {
    return file.startsWith(this.virtualDir + path.sep);
  }

  /** The symbol's name in the bundle, its declaration queued for copying the first time. */
  copy(symbol) {
    const known = this.copied.get(symbol);
    if (known) return known;
    const statements = [...new Set(symbol.declarations.map(statementOf))];
    if (statements.some((s) => !isTopLevel(s.kind === ts.SyntaxKind.VariableStatement ? s.declarationList.declarations[0] : s))) {
      throw this.unportable(symbol.declarations[0], "it is not declared at the top of its file");
    }
    const name = this.freeName(symbol.name);
    this.copied.set(symbol, name);
    for (const statement of statements) {
      if (ts.isVariableStatement(statement) && statement.declarationList.declarations.length !== 1) {
        throw this.unportable(statement, "several constants share one statement");
      }
      this.queue.push({ statement, symbol });
    }
    return name;
  }

  importFrom(alias, target, node) {
    const importDeclaration = alias.declarations.map(statementOf).find(ts.isImportDeclaration);
    if (!importDeclaration) throw this.unportable(node, "it is re-exported in a way the bundle does not follow");
    const specifier = importDeclaration.moduleSpecifier.text;
    this.checkSpecifier(specifier, node);
    this.checkDeclarationFile(target.declarations[0].getSourceFile().fileName, node);
    const key = `${specifier}\0${target.name}`;
    if (!this.imports.has(key)) this.imports.set(key, this.freeName(target.name));
    return this.imports.get(key);
  }

  freeName(wanted) {
    let name = wanted;
    for (let n = 2; this.used.has(name); n++) name = `${wanted}_${n}`;
    this.used.add(name);
    return name;
  }

  /** A consumer resolves the specifier from the installed package: it must be one of its dependencies. */
  checkSpecifier(specifier, node) {
    if (!this.dependencies.has(packageOf(specifier))) throw this.unportable(node, `"${specifier}" is not a dependency of the package`);
  }

  /** The declaration itself must come with TypeScript or with a dependency (not from a dev dependency's @types). */
  checkDeclarationFile(file, node) {
    if (file.startsWith(this.libDir + path.sep)) return;
    const inModules = file.split(`${path.sep}node_modules${path.sep}`).at(-1);
    if (inModules !== file && this.dependencies.has(packageOf(inModules.split(path.sep).join("/")))) return;
    throw this.unportable(node, `its type comes from ${file}, which is neither TypeScript's nor a dependency's`);
  }

  unportable(node, why) {
    const sourceFile = node.getSourceFile();
    const { line } = sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile));
    const where = path.relative(this.virtualDir, sourceFile.fileName);
    const what = node.getText(sourceFile).split("\n")[0].slice(0, 120);
    return new Error(`the client's types cannot carry ${what} (${where}:${line + 1}): ${why}`);
  }
}

function statementOf(node) {
  while (node.parent && !ts.isSourceFile(node.parent)) node = node.parent;
  return node;
}

function isTopLevel(declaration) {
  if (ts.isSourceFile(declaration.parent)) return true;
  return (
    ts.isVariableDeclaration(declaration) &&
    ts.isVariableStatement(declaration.parent.parent) &&
    ts.isSourceFile(declaration.parent.parent.parent)
  );
}

function leftmost(name) {
  while (ts.isQualifiedName(name)) name = name.left;
  return name;
}

/** Whether the identifier names something in a type: `Name`, `Name.Member`, `typeof name`, `extends Name`. */
function isReference(identifier) {
  let node = identifier;
  if (ts.isQualifiedName(node.parent) || ts.isPropertyAccessExpression(node.parent)) {
    const left = ts.isQualifiedName(node.parent) ? node.parent.left : node.parent.expression;
    if (left !== node) return false;
    while (ts.isQualifiedName(node.parent) || ts.isPropertyAccessExpression(node.parent)) node = node.parent;
  }
  const parent = node.parent;
  return (
    (ts.isTypeReferenceNode(parent) && parent.typeName === node) ||
    (ts.isTypeQueryNode(parent) && parent.exprName === node) ||
    (ts.isExpressionWithTypeArguments(parent) && parent.expression === node)
  );
}

function importedNames(declaration) {
  const clause = declaration.importClause;
  if (!clause) return [];
  const bindings = clause.namedBindings;
  const names = clause.name ? [clause.name.text] : [];
  if (bindings && ts.isNamespaceImport(bindings)) names.push(bindings.name.text);
  if (bindings && ts.isNamedImports(bindings)) names.push(...bindings.elements.map((e) => e.name.text));
  return names;
}

function declaredNames(statement) {
  if (ts.isVariableStatement(statement)) return statement.declarationList.declarations.map((d) => d.name.getText());
  return statement.name && ts.isIdentifier(statement.name) ? [statement.name.text] : [];
}

function skipSpaces(text, position) {
  while (text[position] === " ") position++;
  return position;
}

function packageOf(specifier) {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

function describe(diagnostics) {
  return ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => process.cwd(),
    getNewLine: () => "\n",
  });
}
