mkpkg () 
{ 
    local dir=$1 name=$2 deps=$3;
    mkdir -p $dir/src $dir/test;
    cat > $dir/package.json <<EOF
{
  "name": "$name",
  "version": "0.1.0",
  "private": true,
  "type": "module",
  "sideEffects": false,
  "exports": { ".": { "types": "./dist/index.d.ts", "default": "./dist/index.js" } },
  "scripts": {
    "build": "tsc -p tsconfig.json",
    "typecheck": "tsc -p tsconfig.check.json",
    "test": "vitest run --passWithNoTests"
  },
  "dependencies": $deps
}
EOF

    cat > $dir/tsconfig.json <<'EOF'
{
  "extends": "../../tsconfig.base.json",
  "compilerOptions": { "rootDir": "src", "outDir": "dist" },
  "include": ["src"]
}
EOF

    cat > $dir/tsconfig.check.json <<'EOF'
{
  "extends": "../../tsconfig.base.json",
  "compilerOptions": { "noEmit": true },
  "include": ["src", "test"]
}
EOF

}
