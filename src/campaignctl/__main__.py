from campaignctl.cli.main import main

main()
