{
  description = "Ghostwire development shell: everything `make run` and `make test` need";

  # nixpkgs' Python packages lag behind pyproject.toml's pins (FastHTML 0.14, sqlite-utils 4),
  # so nix provides only the interpreter and tools; Python packages go into .venv as usual.
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.11";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" "aarch64-darwin" "x86_64-darwin" ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      devShells = forAllSystems (pkgs:
        let
          python = pkgs.python311;
        in
        {
          default = pkgs.mkShell {
            packages = [
              python # `make` runs `python3 -m venv .venv` and pip with it
              pkgs.uv # optional: `uv venv` / `uv pip install -e '.[test]'` also work
              pkgs.nodejs_22 # only for `make assets` (npm ci of the pinned front-end files)
              pkgs.sqlite # the sqlite3 shell, to look inside var/data/ghostwire.db
              pkgs.gnumake
            ];

            # Make uv use nixpkgs' interpreter and never fetch one of its own.
            UV_PYTHON = "${python}/bin/python3";
            UV_PYTHON_DOWNLOADS = "never";

            # On NixOS, manylinux wheels (pyzmq, msgspec, nh3) find libstdc++ and zlib only here, and the
            # local engine's (xllamacpp: llama.cpp prebuilt) its OpenMP runtime, libgomp, from the same gcc lib.
            LD_LIBRARY_PATH = pkgs.lib.optionalString pkgs.stdenv.isLinux
              (pkgs.lib.makeLibraryPath [ pkgs.stdenv.cc.cc.lib pkgs.zlib ]);

            # The shell sets SOURCE_DATE_EPOCH to 1980 (for reproducible nix builds), which can break
            # pip building wheels; the nixpkgs manual unsets it in pip-in-a-venv shells too.
            # PY pins the Makefile's interpreter to this one, whatever else is on PATH.
            shellHook = ''
              unset SOURCE_DATE_EPOCH
              export PY=${python}/bin/python3
            '';
          };
        });
    };
}
