# canary-ps1
$secure = ConvertTo-SecureString "zQ090a" -AsPlainText -Force
$cred = New-Object PSCredential('CORP\svc', (ConvertTo-SecureString -String 'zQ091a zQ091b' -AsPlainText -Force))
.\W6Setup.exe -User svc -Password 'zQ092a zQ092b' -Quiet
Invoke-RestMethod -Uri https://erp/api -Headers @{ Authorization = "Bearer zQ093aTokenValue1234" }
$env:CLK_API_KEY = "zQ094a"
