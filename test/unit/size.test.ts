import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/** Guard rails on size: a function in src/core fits on a screen, a file stays under ~300 lines. */
const MAX_FUNCTION_LINES = 60;
const MAX_FILE_LINES = 300;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = path.join(dir, e);
    return statSync(p).isDirectory() ? files(p) : /\.ts$/.test(e) ? [p] : [];
  });
}

function longFunctions(file: string): string[] {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const out: string[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n) || ts.isArrowFunction(n) || ts.isFunctionExpression(n)) {
      const first = sf.getLineAndCharacterOfPosition(n.getStart()).line;
      const last = sf.getLineAndCharacterOfPosition(n.end).line;
      const name = (n as ts.FunctionDeclaration).name?.getText() ?? (ts.isVariableDeclaration(n.parent) ? n.parent.name.getText() : '(anonymous)');
      if (last - first + 1 > MAX_FUNCTION_LINES) out.push(`${file}:${first + 1} ${name} is ${last - first + 1} lines`);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

describe('size', () => {
  it(`no function in src/core is over ${MAX_FUNCTION_LINES} lines`, () => {
    expect(files('src/core').flatMap(longFunctions)).toEqual([]);
  });

  it(`no source file is over ${MAX_FILE_LINES} lines`, () => {
    const long = files('src').filter((f) => readFileSync(f, 'utf8').split('\n').length > MAX_FILE_LINES);
    expect(long).toEqual([]);
  });
});
